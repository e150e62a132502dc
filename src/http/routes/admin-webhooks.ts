import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import type { EndpointRow } from "../../webhooks/webhook-endpoints.ts";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/webhook-events.ts";
import { ADMIN_REFUSALS, actorOf } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, plainText, problem } from "../schemas.ts";

export type AdminWebhookRouteDeps = Pick<Services, "webhooks"> & { recent: MiddlewareHandler<AppEnv> };

const tags = ["admin"];
const PAGE_SIZE_MAX = 100;

const EventType = z.enum(WEBHOOK_EVENT_TYPES);
const EndpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(EventType).openapi({ description: "The event types it receives; empty: every type" }),
    enabled: z.boolean(),
    disabledReason: z.enum(["gone", "failing"]).nullable().openapi({ description: "Why the server disabled it: the receiver answered 410 (gone), or 3 days of failures (failing)" }),
    previousSecretExpiresAt: z.iso.datetime().nullable().openapi({ description: "Until when the secret before the last rotation still signs alongside" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("WebhookEndpoint");
const Secret = z.string().openapi({ description: "The signing secret (whsec_...), shown only now" });
const EndpointBody = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2_000),
  eventTypes: z.array(EventType).max(WEBHOOK_EVENT_TYPES.length).default([]),
  description: plainText(500).optional(),
  enabled: z.boolean().optional(),
});
const IdParam = z.object({ id: z.string().openapi({ format: "uuid" }) });
const iso = (date: Date | null) => (date === null ? null : date.toISOString());

function endpointJson(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes as z.infer<typeof EventType>[],
    enabled: row.enabled,
    disabledReason: row.disabledReason as "gone" | "failing" | null,
    previousSecretExpiresAt: iso(row.previousSecretExpiresAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const NOT_FOUND = { 404: problem("NOT_FOUND") };
const BAD_URL = { 400: problem("VALIDATION_FAILED, or WEBHOOK_URL_FORBIDDEN (an internal address, or http in production)") };

const listEndpoints = createRoute({ method: "get", path: "/webhooks", tags, summary: "Every webhook endpoint", security: AUTHENTICATED, responses: { 200: jsonResponse(z.object({ endpoints: z.array(EndpointSchema) }), "Endpoints"), ...ADMIN_REFUSALS } });
const createEndpoint = createRoute({
  method: "post",
  path: "/webhooks",
  tags,
  summary: "Add a webhook endpoint; its signing secret is in this answer only",
  security: AUTHENTICATED,
  request: { body: { content: { "application/json": { schema: EndpointBody } }, required: true } },
  responses: { 201: jsonResponse(z.object({ endpoint: EndpointSchema, secret: Secret }), "Created"), ...BAD_URL, ...ADMIN_REFUSALS },
});
const getEndpoint = createRoute({ method: "get", path: "/webhooks/{id}", tags, summary: "One webhook endpoint", security: AUTHENTICATED, request: { params: IdParam }, responses: { 200: jsonResponse(z.object({ endpoint: EndpointSchema }), "Endpoint"), ...ADMIN_REFUSALS, ...NOT_FOUND } });
const updateEndpoint = createRoute({
  method: "patch",
  path: "/webhooks/{id}",
  tags,
  summary: "Change a webhook endpoint (re-enabling one the server disabled clears the reason)",
  security: AUTHENTICATED,
  request: { params: IdParam, body: { content: { "application/json": { schema: EndpointBody.partial() } }, required: true } },
  responses: { 200: jsonResponse(z.object({ endpoint: EndpointSchema }), "Changed"), ...BAD_URL, ...ADMIN_REFUSALS, ...NOT_FOUND },
});
const deleteEndpoint = createRoute({ method: "delete", path: "/webhooks/{id}", tags, summary: "Remove a webhook endpoint and its pending deliveries", security: AUTHENTICATED, request: { params: IdParam }, responses: { 204: { description: "Removed" }, ...ADMIN_REFUSALS, ...NOT_FOUND } });
const rotateSecret = createRoute({
  method: "post",
  path: "/webhooks/{id}/rotate-secret",
  tags,
  summary: "A new signing secret; the old one keeps signing alongside it for 24 hours",
  security: AUTHENTICATED,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(z.object({ secret: Secret, previousSecretExpiresAt: z.iso.datetime() }), "Rotated"),
    ...ADMIN_REFUSALS,
    ...NOT_FOUND,
    409: problem("WEBHOOK_ROTATION_PENDING (the secret the previous rotation replaced still signs)"),
  },
});
const sendTest = createRoute({ method: "post", path: "/webhooks/{id}/test", tags, summary: "Send a webhook.test event to this endpoint", security: AUTHENTICATED, request: { params: IdParam }, responses: { 202: jsonResponse(z.object({ deliveryId: z.uuid() }), "Queued"), ...ADMIN_REFUSALS, ...NOT_FOUND } });
const Attempt = z.object({ attempt: z.number().int(), startedAt: z.iso.datetime(), statusCode: z.number().int().nullable(), latencyMs: z.number().int(), error: z.string().nullable() });
const listDeliveries = createRoute({
  method: "get",
  path: "/webhooks/{id}/deliveries",
  tags,
  summary: "The endpoint's deliveries, newest first, a page at a time, each with its attempts",
  security: AUTHENTICATED,
  request: {
    params: IdParam,
    query: z.object({ limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(20), cursor: z.string().max(200).optional().openapi({ description: "The previous page's `nextCursor`" }) }),
  },
  responses: {
    200: jsonResponse(
      z.object({
        deliveries: z.array(
          z.object({
            id: z.uuid().openapi({ description: "Also the `webhook-id` header receivers de-duplicate on" }),
            eventType: z.string(),
            status: z.enum(["pending", "delivered", "failed"]),
            nextAttemptAt: z.iso.datetime().nullable(),
            createdAt: z.iso.datetime(),
            attempts: z.array(Attempt),
          }),
        ),
        nextCursor: z.string().nullable(),
      }),
      "A page of deliveries",
    ),
    400: problem("VALIDATION_FAILED"),
    ...ADMIN_REFUSALS,
    ...NOT_FOUND,
  },
});
const retryDelivery = createRoute({
  method: "post",
  path: "/webhook-deliveries/{id}/retry",
  tags,
  summary: "Send a failed (or delivered) webhook delivery again, now",
  security: AUTHENTICATED,
  request: { params: IdParam },
  responses: { 202: { description: "Queued" }, ...ADMIN_REFUSALS, ...NOT_FOUND },
});

/** /auth/admin/webhooks and /auth/admin/webhook-deliveries: every change needs a recent authentication. */
export function createAdminWebhookRoutes({ webhooks, recent }: AdminWebhookRouteDeps) {
  return createRouter()
    .openapi(listEndpoints, async (c) => c.json({ endpoints: (await webhooks.list()).map(endpointJson) }, 200))
    .openapi({ ...createEndpoint, middleware: [recent] }, async (c) => {
      const { endpoint, secret } = await webhooks.create(c.req.valid("json"), actorOf(c));
      return c.json({ endpoint: endpointJson(endpoint), secret }, 201);
    })
    .openapi(getEndpoint, async (c) => c.json({ endpoint: endpointJson(await webhooks.get(c.req.valid("param").id)) }, 200))
    .openapi({ ...updateEndpoint, middleware: [recent] }, async (c) => {
      const endpoint = await webhooks.update(c.req.valid("param").id, c.req.valid("json"), actorOf(c));
      return c.json({ endpoint: endpointJson(endpoint) }, 200);
    })
    .openapi({ ...deleteEndpoint, middleware: [recent] }, async (c) => {
      await webhooks.remove(c.req.valid("param").id, actorOf(c));
      return c.body(null, 204);
    })
    .openapi({ ...rotateSecret, middleware: [recent] }, async (c) => {
      const { secret, previousSecretExpiresAt } = await webhooks.rotateSecret(c.req.valid("param").id, actorOf(c));
      return c.json({ secret, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() }, 200);
    })
    .openapi({ ...sendTest, middleware: [recent] }, async (c) => c.json({ deliveryId: await webhooks.sendTest(c.req.valid("param").id) }, 202))
    .openapi(listDeliveries, async (c) => {
      const { deliveries, nextCursor } = await webhooks.deliveries(c.req.valid("param").id, c.req.valid("query"));
      return c.json(
        {
          deliveries: deliveries.map((delivery) => ({
            ...delivery,
            status: delivery.status,
            nextAttemptAt: iso(delivery.nextAttemptAt),
            createdAt: delivery.createdAt.toISOString(),
            attempts: delivery.attempts.map(({ attempt, startedAt, statusCode, latencyMs, error }) => ({ attempt, startedAt: startedAt.toISOString(), statusCode, latencyMs, error })),
          })),
          nextCursor,
        },
        200,
      );
    })
    .openapi({ ...retryDelivery, middleware: [recent] }, async (c) => {
      await webhooks.retryDelivery(c.req.valid("param").id);
      return c.body(null, 202);
    });
}

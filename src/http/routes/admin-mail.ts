import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import { ADMIN_REFUSALS, actorOf } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, problem } from "../schemas.ts";

export type AdminMailRouteDeps = Pick<Services, "failedMail"> & { recent: MiddlewareHandler<AppEnv> };

const tags = ["admin"];
const PAGE_SIZE_MAX = 100;

const FailedMailSchema = z
  .object({
    id: z.uuid(),
    to: z.string().nullable().openapi({ description: "The recipient; null if the mail was sealed under an earlier AUTH_SECRET" }),
    subject: z.string().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable().openapi({ description: "What the mail server said on the last attempt" }),
    createdAt: z.iso.datetime(),
    failedAt: z.iso.datetime().nullable(),
  })
  .openapi("FailedMail");

const listFailed = createRoute({
  method: "get",
  path: "/failed",
  tags,
  summary: "Mail whose delivery retries ran out, oldest first (never the body: it holds links and codes)",
  security: AUTHENTICATED,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(20),
      cursor: z.string().max(200).optional().openapi({ description: "The previous page's `nextCursor`" }),
    }),
  },
  responses: {
    200: jsonResponse(z.object({ mails: z.array(FailedMailSchema), nextCursor: z.string().nullable() }), "A page of failed mail"),
    400: problem("VALIDATION_FAILED"),
    ...ADMIN_REFUSALS,
  },
});

const retryFailed = createRoute({
  method: "post",
  path: "/{id}/retry",
  tags,
  summary: "Send a failed mail again (its retries start over)",
  security: AUTHENTICATED,
  request: { params: z.object({ id: z.string().openapi({ format: "uuid" }) }) },
  responses: { 202: { description: "Back in the outbox" }, ...ADMIN_REFUSALS, 404: problem("NOT_FOUND: no failed mail with this id") },
});

/** GET /auth/admin/mail/failed and POST /auth/admin/mail/{id}/retry. */
export function createAdminMailRoutes({ failedMail, recent }: AdminMailRouteDeps) {
  return createRouter()
    .openapi(listFailed, async (c) => {
      const { mails, nextCursor } = await failedMail.list(c.req.valid("query"));
      const iso = (date: Date | null) => (date === null ? null : date.toISOString());
      return c.json({ mails: mails.map((mail) => ({ ...mail, createdAt: mail.createdAt.toISOString(), failedAt: iso(mail.failedAt) })), nextCursor }, 200);
    })
    .openapi({ ...retryFailed, middleware: [recent] }, async (c) => {
      await failedMail.retry(c.req.valid("param").id, actorOf(c));
      return c.body(null, 202);
    });
}

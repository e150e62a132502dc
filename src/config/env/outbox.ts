import { z } from "zod";
import { flag } from "./fields.ts";

/** Durable delivery (the outbox behind mail and webhooks) and webhook endpoints. */
export const outboxVariables = {
  OUTBOX_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(7)
    .describe("Delivered mail and webhook deliveries, and the intents mail was composed from, are deleted after this many days (checked hourly); failed deliveries stay, listed by the admin API, until retried."),
  OUTBOX_POLL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(30)
    .describe(
      "How often each instance looks for due deliveries without being told (a retry that came due, a delivery whose instance died). New mail and events wake the workers at once through the revocation bus.",
    ),
  OUTBOX_LEASE_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(60)
    .describe(
      "How long an instance holds a delivery it claimed. If it dies mid-delivery, another instance (or it, restarted) retries the delivery after this; longer than the slowest SMTP or webhook attempt.",
    ),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag(false).describe(
    "true: webhook endpoints may be on loopback, private, link-local or cloud-metadata addresses, and plain http in production (tests and development). false: such URLs are refused when an endpoint is created and again when each delivery connects (DNS rebinding).",
  ),
};

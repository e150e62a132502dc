import { describe, expect, it } from "vitest";
import { postWebhook } from "../../src/webhooks/webhook-post.ts";

describe("a webhook POST's deadline", () => {
  // A receiver's name whose DNS never answers (an attacker's, or a broken, authoritative server): getaddrinfo blocks
  // on a libuv thread for the resolver's whole timeout chain. Stood in for by a resolver that never settles.
  it("covers name resolution: a lookup that never answers ends at timeoutMs as a failed attempt", async () => {
    const neverAnswers = () => new Promise<never>(() => {});
    const result = await Promise.race([
      postWebhook(new URL("https://slow-dns.example/hooks"), {}, "{}", { allowInternal: false, timeoutMs: 200, resolve: neverAnswers }),
      new Promise<"still waiting">((resolve) => setTimeout(() => resolve("still waiting"), 5_000)),
    ]);
    expect(result).toEqual({ error: "no answer within 200 ms" });
  });
});

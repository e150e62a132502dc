import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export type ReceivedWebhook = { headers: IncomingHttpHeaders; body: string; id: string; type: string; event: { type: string; timestamp: string; data: Record<string, unknown> } };

/**
 * A real HTTP receiver on loopback for webhook tests: records every POST and answers with the next status in
 * `answers` (200 once they run out); "hang" never answers (a timeout).
 */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = [];
  const answers: Array<number | "hang"> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const event = JSON.parse(body) as ReceivedWebhook["event"];
      received.push({ headers: request.headers, body, id: String(request.headers["webhook-id"]), type: event.type, event });
      const answer = answers.shift() ?? 200;
      if (answer === "hang") return;
      response.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    answers,
    /** Whether `secret` verifies the delivery's signature (standardwebhooks, as a receiver would check it). */
    verifies(delivery: ReceivedWebhook, secret: string): boolean {
      try {
        new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>);
        return true;
      } catch {
        return false;
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

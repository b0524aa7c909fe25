/**
 * Clients that trickle a request (slowloris): `node main.ts --server` in production with REQUEST_TIMEOUT_MS=1500.
 * Headers or a body that have not all arrived by then get 408 and the connection is closed; a keep-alive
 * connection that sits idle for longer is not touched. Raw sockets, so no client library hides what happens.
 */
import net from "node:net";
import { expect, it } from "vitest";
import { useProductionServer } from "../support/production-server.ts";

const TIMEOUT_MS = 1500;
const app = useProductionServer("slow", { REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });

/** A raw connection that writes `first`, then one byte of `drip` every `everyMs` until it is closed. */
function trickle(first: string, drip: string, everyMs: number) {
  const started = Date.now();
  const socket = net.connect(app.nexus.port, "127.0.0.1");
  let received = "";
  socket.on("data", (chunk) => (received += chunk));
  socket.on("error", () => undefined);
  socket.write(first);
  let at = 0;
  const timer = setInterval(() => socket.writable && socket.write(drip[at++ % drip.length]!), everyMs);
  return new Promise<{ received: string; afterMs: number }>((resolve) =>
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ received, afterMs: Date.now() - started });
    }),
  );
}

it("a client trickling its headers gets 408 and is closed once REQUEST_TIMEOUT_MS has passed", async () => {
  const { received, afterMs } = await trickle("GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Slow: 1\r\n", 100);
  expect(received).toMatch(/^HTTP\/1\.1 408 /);
  expect(afterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
  expect(afterMs).toBeLessThan(TIMEOUT_MS + 2_000);
});

it("so is one trickling a body into /graphql, /auth/v1, /functions/v1 or the webhook", async () => {
  for (const path of ["/graphql", "/auth/v1/token?grant_type=password", "/functions/v1/livekit-token", "/livekit/webhook"]) {
    const { received, afterMs } = await trickle(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"query":"`,
      "a",
      100,
    );
    expect(received, path).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs, path).toBeLessThan(TIMEOUT_MS + 2_000);
  }
  // A cut-off request is the client's doing: nothing logged as a server error.
  expect(app.nexus.output().split("\n").filter((line) => line.includes('"level":50'))).toEqual([]);
});

it("leaves an idle keep-alive connection alone past REQUEST_TIMEOUT_MS, and answers on it", async () => {
  const socket = net.connect(app.nexus.port, "127.0.0.1");
  let received = "";
  socket.on("data", (chunk) => (received += chunk));
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2));
  socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(received.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
  expect(socket.destroyed).toBe(false);
  socket.destroy();
});

/**
 * An oversized request body is refused as soon as it is oversized, and its connection closed: the server does not
 * read it to its end (an anonymous client used to make it read 4 GiB on a 64 KiB route before the 400). On each
 * route that reads a body: /functions/v1 and /auth/v1 (64 KiB), /livekit/webhook (1 MiB), /graphql (grafserv's
 * 100 kB); and any answer sent before the body was read (401, 404, 405) closes the connection too.
 * Production mode, raw sockets; the sender stops after 64 MiB whatever happens, so the test is bounded. A client
 * still sending when the answer comes gets it: the server half-closes and lingers, reading nothing more, rather
 * than resetting the connection at once (which on a loaded machine lost the 400 of a client busy writing).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/eventually.ts";
import { LIVEKIT_ENV } from "../support/livekit.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { ...LIVEKIT_ENV, NODE_ENV: "production" } });
});
afterAll(async () => t?.close());

const CHUNK = Buffer.alloc(64 * 1024, "a");
const MAX_SENT = 64 * 1024 * 1024;

/** Stream a chunked body as fast as the socket takes it, until the server closes the connection or MAX_SENT. */
async function flood(path: string, headers = ""): Promise<{ sent: number; answer: string; closedByServer: boolean }> {
  const socket = net.connect(Number(new URL(t.baseUrl).port), "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let answer = "";
  let closed = false;
  socket.on("data", (chunk) => (answer += chunk));
  socket.on("error", () => {});
  const ended = new Promise<void>((resolve) => socket.once("close", () => ((closed = true), resolve())));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}Transfer-Encoding: chunked\r\n\r\n`);
  let sent = 0;
  const frame = Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from("\r\n")]);
  while (!closed && sent < MAX_SENT) {
    const flushed = socket.write(frame);
    sent += CHUNK.length;
    if (!flushed) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), ended]);
  }
  const closedByServer = closed;
  if (!closed) socket.end("0\r\n\r\n");
  await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5000))]);
  socket.destroy();
  return { sent, answer, closedByServer };
}

describe("an oversized body", () => {
  for (const [path, status, limit] of [
    ["/functions/v1/livekit-token", 400, 64 * 1024],
    ["/livekit/webhook", 400, 1024 * 1024],
    ["/graphql", 413, 100_000],
    ["/auth/v1/token?grant_type=password", 400, 64 * 1024],
  ] as const) {
    it(`${path}: ${status} once it passes ${limit} bytes, then the connection closes; the rest is never read`, async () => {
      const { sent, answer, closedByServer } = await flood(path);
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(closedByServer).toBe(true);
      // What the socket buffers and the half second the answer lingers let through: far below the 64 MiB offered.
      expect(sent).toBeLessThan(8 * 1024 * 1024);
    }, 30_000);
  }

  // Answered before the body is read at all: node used to read the rest, of any size, to keep the connection
  // (256 MiB in 0.6 s, and on, for each of these); the answer closes it instead.
  for (const [what, path, headers, status] of [
    ["a bad JWT on /graphql", "/graphql", "Authorization: Bearer x.y.z\r\n", 401],
    ["an unknown path", "/nothing-here", "", 404],
    ["another method than GET on /ops", "/ops", "", 405],
  ] as const) {
    it(`${what}: ${status} before the body is read, then the connection closes; the rest is never read`, async () => {
      const { sent, answer, closedByServer } = await flood(path, headers);
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).toMatch(/\r\nConnection: close\r\n/i);
      expect(closedByServer).toBe(true);
      expect(sent).toBeLessThan(8 * 1024 * 1024);
    }, 30_000);
  }

  it("an Expect other than 100-continue: node's 417 closes the connection too; the rest is never read", async () => {
    const { sent, answer, closedByServer } = await flood("/functions/v1/livekit-token", "Expect: x\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 417 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(closedByServer).toBe(true);
    expect(sent).toBeLessThan(8 * 1024 * 1024);
  }, 30_000);

  it("a client pipelining requests without reading the answers is cut off past 16 waiting", async () => {
    const socket = net.connect(Number(new URL(t.baseUrl).port), "127.0.0.1");
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.pause(); // never reads: the answers can only queue up
    const closed = new Promise<boolean>((resolve) => socket.once("close", () => resolve(true)));
    socket.write("GET /ops/ops.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(4000));
    expect(await Promise.race([closed, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))])).toBe(true);
  }, 30_000);

  it("a small declared body with a refused JWT: answered, and the connection kept (node reads what is left)", async () => {
    const socket = net.connect(Number(new URL(t.baseUrl).port), "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk));
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const body = JSON.stringify({ query: "{ __typename }" });
    const request = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x.y.z\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    socket.write(request + request);
    await until("two answers", () => answer.split("HTTP/1.1 401 ").length - 1 === 2);
    expect(answer).not.toMatch(/Connection: close/i);
    socket.destroy();
  });

  it("a body read to its end keeps the connection, and so does a request without one: four requests on one socket", async () => {
    const socket = net.connect(Number(new URL(t.baseUrl).port), "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk));
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const request = `POST /functions/v1/livekit-token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    // And a request without a body answered at once (node has not yet marked it complete when /healthz answers).
    const bodiless = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    socket.write(request + bodiless + request + bodiless);
    await until("four answers", () => answer.split("HTTP/1.1 ").length - 1 === 4);
    expect(answer).not.toMatch(/Connection: close/i);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });

  it("a client that goes on sending after the answer reads it: FIN, then a linger with nothing read, then the close", async () => {
    for (const [path, status, limit] of [["/functions/v1/livekit-token", 400, 64 * 1024], ["/livekit/webhook", 400, 1024 * 1024], ["/graphql", 413, 100_000]] as const) {
      // allowHalfOpen: the server's FIN does not end our side, so we keep writing the way a busy client does.
      const socket = net.connect({ port: Number(new URL(t.baseUrl).port), host: "127.0.0.1", allowHalfOpen: true });
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      let answer = "";
      let error: string | undefined;
      socket.on("data", (chunk) => (answer += chunk));
      socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code));
      const finReceived = new Promise<number>((resolve) => socket.once("end", () => resolve(Date.now())));
      const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const frame = Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from("\r\n")]);
      for (let sent = 0; sent <= limit; sent += CHUNK.length) socket.write(frame);
      const fin = await finReceived;
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      // Still sending a moment after the answer: no reset, the server is lingering (it used to close at once).
      // A moment well inside the 500 ms linger, so that a loaded machine's late 'end' does not eat it up.
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.write(frame);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(error).toBeUndefined();
      expect(socket.destroyed).toBe(false);
      // And nothing more is read: a client writing on for the whole linger only fills the kernel's buffers. It
      // keeps a write queued (another frame at each drain): a socket whose peer's FIN it has seen and that has
      // nothing left to send would not notice the reset that ends the linger.
      let more = 0;
      const writeOn = () => {
        while (!socket.destroyed && more < 64 * 1024 * 1024 && socket.write(frame)) more += CHUNK.length;
      };
      socket.on("drain", writeOn);
      writeOn();
      const end = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), 5000))]);
      socket.destroy();
      expect(end - fin).toBeLessThan(3000);
      expect(more).toBeLessThan(32 * 1024 * 1024);
    }
  }, 30_000);

  it("declared too large by Content-Length: answered at once, and the connection closed without waiting for the body", async () => {
    for (const [path, status] of [["/functions/v1/livekit-token", 400], ["/livekit/webhook", 400], ["/graphql", 413]] as const) {
      const socket = net.connect(Number(new URL(t.baseUrl).port), "127.0.0.1");
      let answer = "";
      socket.on("data", (chunk) => (answer += chunk));
      const started = Date.now();
      const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now() - started)));
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{`);
      expect(await closed).toBeLessThan(3000);
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).toMatch(/\r\nConnection: close\r\n/i);
      expect(answer).toMatch(/larger than/);
    }
  }, 30_000);
});

/** One raw connection: what the server sent so far, and whether it closed. */
async function rawConnection() {
  const socket = net.connect(Number(new URL(t.baseUrl).port), "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const state = { answer: "", closedAfter: Number.NaN };
  const started = Date.now();
  socket.on("data", (chunk) => (state.answer += chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => ((state.closedAfter = Date.now() - started), resolve())));
  const closedWithin = (ms: number) => Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
  return { socket, state, closedWithin };
}

describe("Expect: 100-continue", () => {
  // Node sent its 100 as soon as the headers arrived, inviting a body of any declared size before any route looked
  // at it (then read about 3.8 MiB of it before the connection closed). The 100 now waits until a handler reads.
  it("declared larger than the route takes: the final answer instead of a 100, and the connection closed", async () => {
    for (const [path, status] of [
      ["/functions/v1/livekit-token", 400],
      ["/livekit/webhook", 400],
      ["/graphql", 413],
      ["/auth/v1/token?grant_type=password", 400],
    ] as const) {
      const { socket, state, closedWithin } = await rawConnection();
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n`);
      expect(await closedWithin(3000), path).toBe(true);
      expect(state.answer, path).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(state.answer, path).not.toMatch(/100 Continue/i);
      expect(state.answer, path).toMatch(/\r\nConnection: close\r\n/i);
      socket.destroy();
    }
  }, 30_000);

  it("refused before the body is read (a bad JWT): 401 without a 100, and the connection closed", async () => {
    const { socket, state, closedWithin } = await rawConnection();
    socket.write("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x.y.z\r\nContent-Type: application/json\r\nContent-Length: 30\r\nExpect: 100-continue\r\n\r\n");
    expect(await closedWithin(3000)).toBe(true);
    expect(state.answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(state.answer).not.toMatch(/100 Continue/i);
    socket.destroy();
  }, 30_000);

  it("a body the route reads: 100, then the answer, and the connection kept for the next request", async () => {
    const { socket, state, closedWithin } = await rawConnection();
    const body = JSON.stringify({ query: "{ __typename }" });
    socket.write(`POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await until("the 100", () => /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(state.answer));
    socket.write(body);
    await until("the answer", () => state.answer.includes("__typename"));
    expect(state.answer).toMatch(/\r\n\r\nHTTP\/1\.1 200 /);
    // Same for /functions/v1 (its own body reader), on the same connection.
    const token = "{}";
    socket.write(`POST /functions/v1/livekit-token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${token.length}\r\nExpect: 100-continue\r\n\r\n`);
    await until("the second 100", () => state.answer.split("HTTP/1.1 100 Continue").length === 3);
    socket.write(token);
    await until("the second answer", () => state.answer.split("HTTP/1.1 ").length === 5);
    expect(state.answer).not.toMatch(/Connection: close/i);
    expect(await closedWithin(200)).toBe(false);
    socket.destroy();
  }, 30_000);
});

/**
 * SIGTERM (a deploy, a scale-down) on a production API server: what the server is answering at that moment is
 * answered, not cut off. New connections are refused, idle keep-alive connections closed, each answer from then on
 * closes its connection, subscriptions get a WebSocket close 1012 (service restart), and whatever is still
 * unanswered after SHUTDOWN_TIMEOUT_MS is cut with a warning that names it. Each case runs `node main.ts --server`
 * as a deployment does and talks to it over raw sockets, so nothing of a client library's retries hides a reset.
 */
import { randomUUID } from "node:crypto";
import net from "node:net";
import pg from "pg";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { until } from "../support/eventually.ts";
import { createMember, type Member } from "../support/members.ts";
import { productionEnv, startNexusProcess, type NexusProcess } from "../support/nexus-process.ts";

let db: TestDatabase;
let pool: pg.Pool;
let member: Member;
let netId: string;
const started: NexusProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  member = await createMember(pool, "SCOUT");
  netId = (
    await pool.query("insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Shutdown', 'shutdown-net', 'SCOUT', 'SCOUT', 'SCOUT') returning id")
  ).rows[0].id;
}, 60_000);
afterAll(async () => {
  for (const nexus of started) await nexus.stop();
  await pool?.end();
  await db?.drop();
});

async function startServer(env: Record<string, string> = {}): Promise<NexusProcess> {
  const nexus = await startNexusProcess(
    {
      ...productionEnv(db.url, "shutdown"),
      ...env,
    },
    ["--server"],
  );
  started.push(nexus);
  return nexus;
}

/** A raw HTTP/1.1 connection: what was received, and when and how it ended. */
async function connect(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  let error: string | undefined;
  socket.on("data", (chunk) => (received += chunk));
  socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code));
  const ended = new Promise<{ received: string; error?: string; at: number }>((resolve) =>
    socket.on("close", () => resolve({ received, error, at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, ended, received: () => received };
}

function exitCode(nexus: NexusProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (nexus.child.exitCode !== null) resolve(nexus.child.exitCode);
    else nexus.child.once("exit", (code) => resolve(code));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const query = JSON.stringify({ query: "{ __typename }" });
const head = (path: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe("SIGTERM on a production server", () => {
  it("answers the requests in flight, closes their connections, refuses new ones and exits 0", async () => {
    const nexus = await startServer();
    // A GraphQL request and a REST one whose bodies are still arriving when the signal comes.
    const graphql = await connect(nexus.port);
    graphql.socket.write(head("/graphql", query.length) + query.slice(0, 5));
    const restBody = JSON.stringify({ roomName: "test-room" });
    const rest = await connect(nexus.port);
    rest.socket.write(head("/functions/v1/livekit-token", restBody.length) + restBody.slice(0, 3));
    // An idle keep-alive connection: one answered request, then nothing.
    const idle = await connect(nexus.port);
    idle.socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await until("the idle connection's answer", () => idle.received().includes("\r\n\r\n{"));
    await sleep(100);

    const signalledAt = Date.now();
    const exited = exitCode(nexus);
    nexus.child.kill("SIGTERM");
    await nexus.waitFor("shutting down", 5000);

    // The idle connection is closed at once, not kept for the 65 s keep-alive timeout.
    const idleEnd = await idle.ended;
    expect(idleEnd.error).toBeUndefined();
    expect(idleEnd.at - signalledAt).toBeLessThan(2000);
    // No new connection is taken while the server finishes. (Under a full test run another process may already
    // listen on the freed port: then what it answers must not be this server's.)
    // A path no route has: this server would log it (404 at info).
    const probe = `/probe-${randomUUID()}`;
    try {
      const late = await connect(nexus.port);
      late.socket.write(`GET ${probe} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      await Promise.race([late.ended, sleep(1000)]);
      late.socket.destroy();
    } catch (error) {
      expect(error).toMatchObject({ code: "ECONNREFUSED" });
    }

    await sleep(300);
    graphql.socket.write(query.slice(5));
    rest.socket.write(restBody.slice(3));
    const graphqlEnd = await graphql.ended;
    expect(graphqlEnd.error).toBeUndefined();
    expect(graphqlEnd.received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(graphqlEnd.received).toMatch(/\r\nConnection: close\r\n/i);
    expect(graphqlEnd.received).toContain('{"data":{"__typename":"Query"}}');
    const restEnd = await rest.ended;
    expect(restEnd.error).toBeUndefined();
    // No JWT: the route's own answer (401 UNAUTHENTICATED), not a reset connection.
    expect(restEnd.received).toMatch(/^HTTP\/1\.1 401 /);
    expect(restEnd.received).toMatch(/\r\nConnection: close\r\n/i);
    expect(restEnd.received).toContain('"error":"UNAUTHENTICATED"');

    expect(await exited).toBe(0);
    expect(nexus.output()).not.toMatch(/"level":(40|50|60)/);
    expect(nexus.output()).not.toContain(probe);
  }, 60_000);

  it("tells a request that arrives on an open connection during the drain that it is draining (/readyz 503)", async () => {
    const nexus = await startServer();
    // A request whose headers are still arriving when the signal comes: its connection is not idle.
    const probe = await connect(nexus.port);
    probe.socket.write("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const slow = await connect(nexus.port);
    slow.socket.write(head("/graphql", query.length) + query.slice(0, 5));
    await sleep(100);
    const exited = exitCode(nexus);
    nexus.child.kill("SIGTERM");
    await nexus.waitFor("shutting down", 5000);
    probe.socket.write("\r\n");
    const probeEnd = await probe.ended;
    expect(probeEnd.received).toMatch(/^HTTP\/1\.1 503 /);
    expect(probeEnd.received).toContain('"status":"draining"');
    slow.socket.write(query.slice(5));
    expect((await slow.ended).received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(await exited).toBe(0);
  }, 60_000);

  it("cuts off what is still unanswered after SHUTDOWN_TIMEOUT_MS, says what it cut, and still exits 0", async () => {
    const nexus = await startServer({ SHUTDOWN_TIMEOUT_MS: "1500" });
    // A client that never finishes its body (slowloris) cannot hold a deploy up for longer than the deadline.
    const stuck = await connect(nexus.port);
    stuck.socket.write(head("/graphql", query.length) + query.slice(0, 5));
    await sleep(100);
    const signalledAt = Date.now();
    const exited = exitCode(nexus);
    nexus.child.kill("SIGTERM");
    const stuckEnd = await stuck.ended;
    expect(stuckEnd.at - signalledAt).toBeGreaterThanOrEqual(1400);
    expect(stuckEnd.at - signalledAt).toBeLessThan(4000);
    expect(stuckEnd.received).toBe("");
    expect(await exited).toBe(0);
    const warning = nexus
      .output()
      .split("\n")
      .map((line) => (line.startsWith("{") ? JSON.parse(line) : undefined))
      .find((line) => line?.msg?.startsWith("shutdown:"));
    expect(warning).toMatchObject({ level: 40, unanswered: 1, requests: ["POST /graphql"], shutdownTimeoutMs: 1500 });
  }, 60_000);

  it("closes subscriptions with 1012 (service restart), which graphql-ws clients reconnect on", async () => {
    const nexus = await startServer();
    const closes: { code: number; reason: string }[] = [];
    const client: Client = createClient({
      url: `ws://127.0.0.1:${nexus.port}/graphql`,
      connectionParams: { authorization: `Bearer ${member.token}` },
      retryAttempts: 0,
      on: { closed: (event) => closes.push({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason }) },
    });
    let acknowledged = false;
    client.on("connected", () => (acknowledged = true));
    const errors: unknown[] = [];
    client.subscribe(
      { query: "subscription($net: UUID!) { voicePresenceChanged(netId: $net) { event } }", variables: { net: netId } },
      { next: () => {}, error: (error) => errors.push(error), complete: () => {} },
    );
    await until("the subscription's connection", () => acknowledged);
    const exited = exitCode(nexus);
    nexus.child.kill("SIGTERM");
    await until("the close", () => closes.length > 0);
    expect(closes[0]).toEqual({ code: 1012, reason: "server shutting down" });
    expect(await exited).toBe(0);
    await client.dispose();
  }, 60_000);
});

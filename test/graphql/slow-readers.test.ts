/**
 * A WebSocket client that stops reading (its answers pile up on the server's side): `node main.ts --server` in
 * production. A message the server cannot hand to the connection within REQUEST_TIMEOUT_MS, or more than
 * MAX_WEBSOCKET_BUFFERED_BYTES waiting at once, ends the connection with its subscriptions, instead of the answers
 * waiting in memory for as long as the client likes.
 */
import { getIntrospectionQuery } from "graphql";
import WebSocket from "ws";
import { expect, it } from "vitest";
import { until } from "../support/eventually.ts";
import { productionEnv, startNexusProcess } from "../support/nexus-process.ts";
import { useProductionServer } from "../support/production-server.ts";

const TIMEOUT_MS = 1500;
const app = useProductionServer("slowread", { REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });

async function openSocket(): Promise<WebSocket> {
  const ws = new WebSocket(`${app.nexus.baseUrl.replace("http", "ws")}/graphql`, "graphql-transport-ws");
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
  await new Promise((resolve) => ws.once("message", resolve));
  return ws;
}

it("closes a socket whose client stops reading once an answer has waited REQUEST_TIMEOUT_MS to be taken", async () => {
  const ws = await openSocket();
  let closedAt = 0;
  ws.on("close", () => (closedAt = Date.now()));
  // Stop reading, then ask for one answer (≈ 0.6 MB) every half second: the buffers between the two fill, and then
  // an answer waits, with far less than MAX_WEBSOCKET_BUFFERED_BYTES waiting on the server's side.
  (ws as unknown as { _socket: import("node:net").Socket })._socket.pause();
  const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
  let asked = 0;
  const drip = setInterval(() => {
    if (asked < 60 && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: String(asked++), type: "subscribe", payload: { query } }));
  }, 500);
  try {
    await app.nexus.waitFor("not taking its messages", 45_000);
  } finally {
    clearInterval(drip);
  }
  const line = app.nexus.output().split("\n").find((l) => l.includes("not taking its messages"))!;
  expect(JSON.parse(line)).toMatchObject({ level: 30, why: `a message not taken within REQUEST_TIMEOUT_MS (${TIMEOUT_MS} ms)` });
  // Reading again, the client finds the connection ended by the server.
  (ws as unknown as { _socket: import("node:net").Socket })._socket.resume();
  await until("the client sees the close", () => closedAt > 0, { timeoutMs: 10_000 });
  // The server goes on answering others.
  const other = await openSocket();
  const answer = new Promise<string>((resolve) => other.on("message", (data) => resolve(String(data))));
  other.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ __typename }" } }));
  expect(JSON.parse(await answer)).toMatchObject({ type: "next", id: "1", payload: { data: { __typename: "Query" } } });
  other.close();
  // The client's doing: an info line, no error.
  expect(app.nexus.output().split("\n").filter((line) => line.includes('"level":50'))).toEqual([]);
}, 60_000);

it("cuts off a client asking for many answers at once without reading them well before REQUEST_TIMEOUT_MS", async () => {
  const patient = await startNexusProcess({ ...productionEnv(app.db.url, "patient"), REQUEST_TIMEOUT_MS: "120000" }, ["--server"]);
  try {
    const ws = new WebSocket(`${patient.baseUrl.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
    await new Promise((resolve) => ws.once("message", resolve));
    (ws as unknown as { _socket: import("node:net").Socket })._socket.pause();
    const query = getIntrospectionQuery({ descriptions: true });
    const asked = Date.now();
    for (let i = 0; i < 200; i++) ws.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query } }));
    await patient.waitFor("bytes waiting", 60_000);
    // Cut for what was waiting, not after the two minutes a message may take.
    expect(Date.now() - asked).toBeLessThan(60_000);
    ws.terminate();
  } finally {
    await patient.stop();
  }
}, 90_000);

it("leaves a reading client's socket alone however long it stays open", async () => {
  const ws = await openSocket();
  let closed = false;
  ws.on("close", () => (closed = true));
  const answers: string[] = [];
  ws.on("message", (data) => answers.push(String(data)));
  const query = getIntrospectionQuery();
  for (let i = 0; i < 10; i++) ws.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query } }));
  await until("ten answers", () => answers.filter((a) => a.includes('"type":"next"')).length === 10, { timeoutMs: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2));
  expect(closed).toBe(false);
  ws.close();
});

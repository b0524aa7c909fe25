/**
 * PERSISTED_OPERATIONS_DIR on `node main.ts --server` in production, as a deployment runs it: stored operations run,
 * everything else is 400 BAD_REQUEST, and a refused request leaves nothing of itself on the server's output (the
 * plugin's own refusal path wrote the whole request and a stack trace to stderr with console.error).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { bearer, postJson } from "../support/http.ts";
import { createMember, type Member } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";

const STORED = "query Nets { voiceNets(first: 5) { nodes { roomName } } }";
const HASH = createHash("sha256").update(STORED).digest("hex");
const dir = mkdtempSync(path.join(os.tmpdir(), "nexus-persisted-"));
writeFileSync(path.join(dir, `${HASH}.graphql`), STORED);
writeFileSync(path.join(dir, "README.txt"), "not an operation");
let member: Member;
const app = useProductionServer("persisted", { PERSISTED_OPERATIONS_DIR: dir }, async ({ pool }) => {
  member = await createMember(pool, "SCOUT");
  await pool.query("insert into public.voice_nets (name, room_name) values ('Persisted', 'persisted-net')");
});

const send = (body: unknown, token?: string) => postJson(`${app.nexus.baseUrl}/graphql`, JSON.stringify(body), bearer(token));

it("runs a stored operation by its hash (Apollo) or documentId (Relay)", async () => {
  for (const body of [{ extensions: { persistedQuery: { version: 1, sha256Hash: HASH } } }, { documentId: HASH }]) {
    const answer = await send(body, member.token);
    expect(answer.status).toBe(200);
    expect(answer.body.data.voiceNets.nodes).toEqual([{ roomName: "persisted-net" }]);
  }
  expect(app.nexus.output()).toMatch(/persisted operations loaded/);
});

it("refuses anything else with 400 BAD_REQUEST and writes none of it to the server's output", async () => {
  const forged = '{"level":50,"service":"nomadnexus","msg":"forged: operator password reset"}';
  const before = app.nexus.output().length;
  for (const body of [
    { query: `{ __typename }\n${forged}\n` },
    { query: STORED },
    { extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } },
    { extensions: { persistedQuery: { version: 1, sha256Hash: "../../etc/passwd" } } },
    { documentId: "constructor" },
    { documentId: "__proto__" },
    {},
  ]) {
    const refused = await send(body);
    expect(refused.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
  }
  // A request that does log (the undeclared-proxy warning), so that everything written before it has arrived.
  const marker = await postJson(`${app.nexus.baseUrl}/graphql`, JSON.stringify({}), { ...bearer(), "x-forwarded-for": "203.0.113.1" });
  expect(marker.status).toBe(400);
  await app.nexus.waitFor("X-Forwarded-For but TRUST_PROXY is false");
  const after = app.nexus.output().slice(before);
  expect(after).not.toContain("forged: operator password reset");
  expect(after).not.toContain("Failed to get persisted operation");
});

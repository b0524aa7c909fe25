/**
 * A production process without LiveKit or Web Push says so when it starts, naming what is unset, instead of
 * leaving members to find out from a 503; and says "stopped" when it has.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { rest } from "../support/http.ts";
import { createMember } from "../support/members.ts";
import { productionEnv, startNexusProcess, type NexusProcess } from "../support/nexus-process.ts";
import pg from "pg";

let db: TestDatabase;
let nexus: NexusProcess;

beforeAll(async () => {
  db = await createTestDatabase();
  const { LIVEKIT_API_SECRET: _secret, NEXT_PUBLIC_VAPID_PUBLIC_KEY: _public, VAPID_PRIVATE_KEY: _private, ...env } = productionEnv(db.url, "warnings");
  nexus = await startNexusProcess(env, ["--server"]);
}, 90_000);
afterAll(async () => {
  await nexus?.stop();
  await db?.drop();
});

const warnings = () =>
  nexus
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line))
    .filter((line) => line.level === 40);

describe("production start-up", () => {
  it("warns once that LiveKit and Web Push are not configured, naming the variables, and the 503s bear it out", async () => {
    const livekit = warnings().filter((line) => /^LiveKit is not configured/.test(line.msg));
    expect(livekit.map((line) => line.unset)).toEqual([["LIVEKIT_API_SECRET"]]);
    const push = warnings().filter((line) => /^Web Push is not configured/.test(line.msg));
    expect(push.map((line) => line.unset)).toEqual([["NEXT_PUBLIC_VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"]]);
    const owner = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const scout = await createMember(owner, "SCOUT");
      const token = await rest(nexus.baseUrl, "livekit-token", { roomName: "anything" }, scout.token);
      expect([token.status, token.body.error]).toEqual([503, "LIVEKIT_NOT_CONFIGURED"]);
    } finally {
      await owner.end();
    }
  });

  it("ends its log with one 'stopped' line when it has shut down", async () => {
    await nexus.stop();
    const last = nexus.output().trim().split("\n").filter((line) => line.startsWith("{")).at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ level: 30, msg: "stopped" });
  });
});

/** The operators' side of accounts: `npm run nexus -- keys` and `npm run nexus -- user revoke --email E`. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { verifyJwt } from "../../core/jwt.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

let db: TestDatabase;
let t: TestServer;
beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestServer({ db, env: { NODE_ENV: "production" } });
});
afterAll(async () => {
  await t?.close();
  await db?.drop();
});

function nexus(...args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("npm run nexus -- keys / user revoke", () => {
  it("prints an anon key supabase-js can be made with, and revokes every session of a member", async () => {
    const keys = nexus("keys");
    expect(keys.status).toBe(0);
    const [, anonKey] = /^anon (\S+)\n$/.exec(keys.stdout) ?? [];
    expect((await verifyJwt(anonKey!, TEST_JWT_SECRET)).role).toBe("anon");

    const supabase = createClient(t.baseUrl, anonKey!, { auth: { persistSession: false, autoRefreshToken: false } });
    const signUp = await supabase.auth.signUp({ email: "revoke@nexus.test", password: "password-123", options: { data: { callsign: "Revoke" } } });
    expect(signUp.error).toBeNull();
    const other = createClient(t.baseUrl, anonKey!, { auth: { persistSession: false, autoRefreshToken: false } });
    const second = await other.auth.signInWithPassword({ email: "revoke@nexus.test", password: "password-123" });
    expect(second.error).toBeNull();

    const revoke = nexus("user", "revoke", "--email", "Revoke@nexus.test");
    expect(revoke.stderr).toBe("");
    expect(revoke.stdout).toBe("2 sessions revoked\n");
    expect((await supabase.auth.refreshSession()).error).toMatchObject({ status: 400 });
    expect((await other.auth.refreshSession()).error).toMatchObject({ status: 400 });

    const unknown = nexus("user", "revoke", "--email", "nobody@nexus.test");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^NOT_FOUND: no account with this email/);
  }, 120_000); // three CLI processes, each starting Node and TypeScript: on a loaded machine 30 s was too short
});

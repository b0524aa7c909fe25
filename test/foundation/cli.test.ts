import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { adminQuery, createTestDatabase, type TestDatabase } from "../support/db.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

function nexus(...args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("npm run nexus -- user add", () => {
  it("creates a member of the given rank (case-insensitive) and prints only the new id", async () => {
    const result = nexus("user", "add", "--email", "ops@example.org", "--password", "hunter2-hunter2", "--callsign", "Ops One", "--rank", "founder");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const id = result.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const { rows } = await adminQuery("select callsign, rank::text from public.profiles where id = $1", [id], db.name);
    expect(rows).toEqual([{ callsign: "Ops One", rank: "FOUNDER" }]);
    const audit = await adminQuery("select count(*)::int as n from auth.users where email = 'ops@example.org'", [], db.name);
    expect(audit.rows[0].n).toBe(1);
  });

  it("refuses an unknown rank, a duplicate email and missing flags with a clear message", () => {
    const badRank = nexus("user", "add", "--email", "x@example.org", "--password", "hunter2-hunter2", "--callsign", "X1", "--rank", "admiral");
    expect(badRank.status).toBe(1);
    expect(badRank.stderr).toMatch(/^BAD_REQUEST: unknown rank 'admiral'/);
    const dup = nexus("user", "add", "--email", "OPS@example.org", "--password", "hunter2-hunter2", "--callsign", "Other");
    expect(dup.status).toBe(1);
    expect(dup.stderr).toMatch(/^CONFLICT: an account with this email already exists/);
    const missing = nexus("user", "add", "--email", "y@example.org");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^missing --password/);
  });

  it("sets a rank as an operator, audited as service_role", async () => {
    const result = nexus("user", "rank", "--callsign", "ops one", "--rank", "pioneer");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/ PIONEER\n$/);
    const { rows } = await adminQuery(
      "select actor_role, details->>'to' as to from nexus_private.audit_log where action = 'member.rank_changed'",
      [],
      db.name,
    );
    expect(rows).toEqual([{ actor_role: "service_role", to: "PIONEER" }]);
  });

  it("db status lists the applied migrations", () => {
    const result = nexus("db", "status");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/\[X\] \d{14}_identity\.sql/);
  });
});

describe("npm run nexus -- db url / db psql", () => {
  it("db url prints DATABASE_URL, and db psql runs psql on it with the operator's options", () => {
    expect(nexus("db", "url").stdout).toBe(`${db.url}\n`);
    const result = nexus("db", "psql", "-At", "-c", "select count(*) from public.profiles where callsign = 'Ops One'");
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("1\n");
  });

  it("the embedded database's URL is the same on every call, with the port kept in its data folder", () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "nexus-url-"));
    try {
      const env = { PATH: process.env.PATH, NEXUS_DATA_DIR: dataDir };
      const first = spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), "db", "url"], { env, encoding: "utf8" });
      const again = spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), "db", "url"], { env, encoding: "utf8" });
      const kept = JSON.parse(readFileSync(path.join(dataDir, "secrets.json"), "utf8"));
      expect(first.stdout).toMatch(new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${kept.POSTGRES_PORT}/nomadnexus\\n$`));
      expect(again.stdout).toBe(first.stdout);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("npm run nexus -- help", () => {
  it("`help`, and --help or -h after any command (jobs included), print the usage and exit 0; nothing else runs", () => {
    const usage = nexus("help");
    expect(usage.status).toBe(0);
    expect(usage.stdout).toMatch(/^usage: npm run nexus -- <command>\n/);
    expect(usage.stdout).toContain("npm run doctor");
    for (const args of [["--help"], ["-h"], ["jobs", "--help"], ["jobs", "--failed", "-h"], ["user", "add", "--help"], ["db", "migrate", "-h"], ["keys", "--help"], ["import", "supabase", "--help"], ["db", "url", "--help"]]) {
      const result = nexus(...args);
      expect([result.status, result.stderr], args.join(" ")).toEqual([0, ""]);
      expect(result.stdout, args.join(" ")).toBe(usage.stdout);
    }
  });

  it("an unknown command or option is a usage error: the usage on stderr, exit code 2", () => {
    for (const args of [["bogus"], ["user", "add", "--bogus"], ["jobs", "--bogus"]]) {
      const result = nexus(...args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain("usage: npm run nexus -- <command>");
    }
  });

  it("is the list docs/operations.md shows, line for line", () => {
    const docs = readFileSync(path.join(ROOT, "docs/operations.md"), "utf8");
    const block = /```text\n\$ npm run -s nexus -- help\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(block).toBe(nexus("help").stdout);
  });
});

/**
 * Signals while `node main.ts` is still starting, on a DATABASE_URL (a deployment's start, not the embedded
 * Postgres: test/foundation/start.test.ts has that one). A start-up step that hangs (here a migration waiting on a
 * lock another session holds) is let finish by the first SIGTERM; the second means it: the process exits 143 at
 * once, and the migration it had started (dbmate, a child process) goes with it instead of running on, orphaned,
 * once the lock frees. The same for `npm run db:migrate`, whose first signal ends it.
 */
import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../core/net.ts";
import { spawnNode, type NodeChild } from "../support/child.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { until } from "../support/eventually.ts";
import { productionEnv } from "../support/nexus-process.ts";

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** The pids of live dbmate processes working on this test's database (read from /proc: no `ps` needed). */
function dbmateProcesses(): number[] {
  const name = new URL(db.url).pathname.slice(1);
  return readdirSync("/proc")
    .filter((entry) => /^[0-9]+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("dbmate") && readFileSync(`/proc/${pid}/environ`, "latin1").includes(name);
      } catch {
        return false; // gone meanwhile, or a zombie
      }
    })
    .map(Number);
}

/**
 * Start `script args` while another session holds the migrations' ledger locked, wait until its dbmate is stuck on
 * that lock, hand it to `signal`, and check that no dbmate of this database is left afterwards (one left over
 * would apply migrations once the lock frees, with nobody watching).
 */
async function whileMigrationsLocked(script: string, args: string[], env: NodeJS.ProcessEnv, signal: (child: NodeChild) => Promise<void>) {
  const lock = await pool.connect();
  try {
    await lock.query("begin");
    await lock.query("lock table dbmate.schema_migrations in access exclusive mode");
    const child = spawnNode(script, args, { env: { PATH: process.env.PATH, ...env } });
    try {
      await until("the migration waits on the lock", async () => {
        if (child.child.exitCode !== null) throw new Error(child.output());
        const { rows } = await pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
        return rows[0].n > 0 && dbmateProcesses().length > 0;
      }, { timeoutMs: 30_000 });
      await signal(child);
      await until("dbmate gone", () => dbmateProcesses().length === 0, { timeoutMs: 5000 });
    } finally {
      await child.stop("SIGKILL");
    }
  } finally {
    await lock.query("rollback").catch(() => {});
    lock.release();
  }
}

describe("a second signal while start-up hangs", () => {
  it("the first lets the step finish, the second exits 143 at once and takes the migration with it", async () => {
    const port = await freePort();
    // Development mode: the server migrates before it starts (production leaves that to `npm run db:migrate`).
    const env = { LOG_LEVEL: "info", ...productionEnv(db.url, "signals"), NODE_ENV: "development", PORT: String(port) };
    await whileMigrationsLocked("main.ts", ["--server"], env, async (nexus) => {
      nexus.child.kill("SIGTERM");
      await nexus.waitFor("shutting down after the start-up step in progress", 10_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(nexus.child.exitCode, "the first signal waits for the step").toBeNull();

      const second = Date.now();
      nexus.child.kill("SIGTERM");
      expect(await nexus.exited).toBe(143);
      expect(Date.now() - second).toBeLessThan(5000);
      expect(nexus.output()).toContain("second signal during start-up: stopping now");
    });
  }, 90_000);
});

describe("a signal while `npm run db:migrate` waits on a lock", () => {
  it("ends the command and its dbmate", async () => {
    const env = { DATABASE_URL: db.url, JWT_SECRET: productionEnv(db.url, "signals").JWT_SECRET! };
    await whileMigrationsLocked("cli/nexus.ts", ["db", "migrate"], env, async (command) => {
      command.child.kill("SIGTERM");
      expect(await command.exited).toBe(143);
    });
  }, 60_000);
});

import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runner } from "graphile-worker";
import { createLogger } from "../../core/log.ts";
import { startWorker } from "../../worker/runner.ts";
import { adminQuery } from "../support/db.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let worker: Runner;
const crontab = path.join(os.tmpdir(), `nexus-crontab-${process.pid}`);

beforeAll(async () => {
  await writeFile(crontab, "* * * * * probe__record ?fill=2m&max=1 {note:'from cron'}\n");
  t = await startTestServer();
  await adminQuery("create schema probe; create table probe.runs (note text, job_id text, at timestamptz default now())", [], t.db.name);
  // graphile-worker backfills only schedules it already knows: pretend it last ran five minutes ago.
  await t.pool.query(
    "insert into graphile_worker._private_known_crontabs (identifier, known_since, last_execution) values ('probe__record', now() - interval '1 hour', now() - interval '5 minutes')",
  );
  worker = await startWorker({
    config: t.config,
    pool: t.pool,
    log: createLogger("silent"),
    taskDirectory: path.resolve("test/fixtures/tasks"),
    crontabFile: crontab,
    concurrency: 2,
  });
});
afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("graphile-worker runner", () => {
  it("runs a TypeScript task for a job added with SQL", async () => {
    await t.pool.query("select graphile_worker.add_job('probe__record', json_build_object('note', 'hello'))");
    const row = await waitFor(async () => (await t.pool.query("select note from probe.runs where note = 'hello'")).rows[0]);
    expect(row.note).toBe("hello");
  });

  it("backfills a crontab item into a job", async () => {
    const row = await waitFor(async () => (await t.pool.query("select note from probe.runs where note = 'from cron'")).rows[0]);
    expect(row.note).toBe("from cron");
    const { rows } = await t.pool.query("select identifier from graphile_worker._private_known_crontabs");
    expect(rows.map((r) => r.identifier)).toContain("probe__record");
  });
});

/**
 * What an operator reads when a job fails: graphile-worker's failure, through our log, carries the error's message
 * and stack under `err` (not `{}`), the job's id, task and attempt; an attempt that will be retried is a warning,
 * the last one (a dead letter) an error. A job that succeeds is graphile-worker's "Completed task" line at debug
 * only (at info it doubled the log: one per cron run and push batch). A real worker on a real queue.
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Runner } from "graphile-worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker } from "../../worker/runner.ts";
import { adminQuery } from "../support/db.ts";
import { eventually } from "../support/eventually.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let worker: Runner;
const lines: Record<string, any>[] = [];
const crontab = path.join(os.tmpdir(), `nexus-empty-crontab-${process.pid}`);

beforeAll(async () => {
  await writeFile(crontab, "");
  t = await startTestServer();
  await adminQuery("create schema probe; create table probe.runs (note text, job_id text, at timestamptz default now())", [], t.db.name);
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  worker = await startWorker({
    config: t.config,
    pool: t.pool,
    log: pino({ level: "debug" }, sink),
    taskDirectory: path.resolve("test/fixtures/tasks"),
    crontabFile: crontab,
    concurrency: 1,
  });
});
afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

describe("a failing job in the worker's log", () => {
  it("is a warning with the error while it will be retried, then an error once it is a dead letter", async () => {
    const { rows } = await t.pool.query("select (graphile_worker.add_job('probe__record', '{\"note\": 1}'::json, max_attempts => 2)).id::text as id");
    const jobId = rows[0].id;
    const failures = await eventually("both attempts to fail", async () => {
      const found = lines.filter((l) => l.jobId === jobId && l.err);
      return found.length >= 2 ? found : undefined;
    }, { timeoutMs: 20_000 });
    const [first, last] = [failures[0]!, failures[1]!];
    for (const line of [first, last]) {
      expect(line.task).toBe("probe__record");
      expect(line.maxAttempts).toBe(2);
      expect(line.err.message).toBe("payload.note must be a string");
      expect(line.err.stack).toContain("probe__record");
    }
    expect([first.level, first.attempt, first.msg]).toEqual([40, 1, "job attempt failed; it will be retried"]);
    expect([last.level, last.attempt]).toEqual([50, 2]);
    expect(last.msg).toMatch(/dead letter/);
    // Nothing logged about the job carries an Error that came out empty.
    expect(lines.filter((l) => l.jobId === jobId).every((l) => JSON.stringify(l.error ?? null) !== "{}")).toBe(true);
  }, 30_000);
});

describe("a job that succeeds in the worker's log", () => {
  it("is graphile-worker's \"Completed task\" line at debug, nothing at info", async () => {
    const { rows } = await t.pool.query("select (graphile_worker.add_job('probe__record', '{\"note\": \"ok\"}'::json)).id::text as id");
    const jobId = rows[0].id;
    const completed = await eventually("the job to complete", async () => lines.find((l) => l.jobId === jobId && /^Completed task/.test(l.msg)), { timeoutMs: 20_000 });
    expect(completed.level).toBe(20);
    expect(completed.task).toBe("probe__record");
    expect(lines.filter((l) => l.level >= 30 && (l.jobId === jobId || String(l.msg).includes(`task ${jobId} `)))).toEqual([]);
  }, 30_000);
});

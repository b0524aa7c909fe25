import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Logger as GraphileLogger, parseCrontab, type Runner } from "graphile-worker";
import { createLogger } from "../../core/log.ts";
import { startWorker } from "../../worker/runner.ts";
import { loadTaskList } from "../../worker/task-list.ts";
import { adminQuery } from "../support/db.ts";
import { eventually } from "../support/eventually.ts";
import { TASK_DIRECTORY } from "../support/jobs.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let worker: Runner;
const crontab = path.join(os.tmpdir(), `nexus-crontab-${process.pid}`);

beforeAll(async () => {
  await writeFile(crontab, "0 4 * * * probe__record ?max=1 {note:'from cron'}\n");
  t = await startTestServer();
  await adminQuery("create schema probe; create table probe.runs (note text, job_id text, at timestamptz default now())", [], t.db.name);
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

describe("graphile-worker runner", () => {
  it("runs a TypeScript task for a job added with SQL", async () => {
    await t.pool.query("select graphile_worker.add_job('probe__record', json_build_object('note', 'hello'))");
    const row = await eventually("the task to record its run", async () => (await t.pool.query("select note from probe.runs where note = 'hello'")).rows[0]);
    expect(row.note).toBe("hello");
  });

  it("registers its crontab's items, as operators see them in cronSchedule", async () => {
    const item = await eventually("the crontab item to be registered", async () =>
      (await t.pool.query("select identifier from public.cron_schedule() where identifier = 'probe__record'")).rows[0],
    );
    expect(item.identifier).toBe("probe__record");
  });

  it("every item of worker/crontab names a task of the task list", async () => {
    const items = parseCrontab(await readFile(path.join(TASK_DIRECTORY, "../crontab"), "utf8"));
    const { tasks, release } = await loadTaskList(TASK_DIRECTORY, new GraphileLogger(() => () => {}));
    await release();
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(Object.keys(tasks), item.identifier).toContain(item.task);
  });
});

/**
 * Run the jobs waiting in a test database's queue with graphile-worker's own runOnce: every job that is due is
 * run once, with the real task list, and the call returns when the queue has nothing left to run. For tests that
 * need a job's effect, not a long-lived worker.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Logger as GraphileLogger, runOnce } from "graphile-worker";
import type pg from "pg";
import type { Config } from "../../core/config.ts";
import { createLogger } from "../../core/log.ts";
import { setWorkerContext } from "../../worker/context.ts";
import { CRONTAB_FILE, crontabTasks } from "../../worker/runner.ts";
import { loadTaskList } from "../../worker/task-list.ts";
import { until } from "./eventually.ts";

export const TASK_DIRECTORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../worker/tasks");

const quiet = new GraphileLogger(() => () => {});

export async function runQueuedJobs({ config, pool }: { config: Config; pool: pg.Pool }, taskDirectory = TASK_DIRECTORY): Promise<void> {
  setWorkerContext({ config, pool, log: createLogger(process.env.LOG_LEVEL ?? "silent"), cronTasks: await crontabTasks(CRONTAB_FILE) });
  const list = await loadTaskList(taskDirectory, quiet);
  try {
    await runOnce({ pgPool: pool, logger: quiet }, list.tasks);
  } finally {
    await list.release();
  }
  // runOnce can return before the failure of the last job it ran is written back (the job still locked, its
  // last_error not yet set): wait until no job is held, so the caller sees every outcome.
  await until("the jobs runOnce ran to be recorded", async () => {
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from graphile_worker.jobs where locked_at is not null");
    return rows[0]!.n === 0;
  });
}

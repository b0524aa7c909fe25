/**
 * graphile-worker: tasks are the files in worker/tasks (one task a file, `<subject>__<action>.ts`), schedules
 * are in worker/crontab. Any number of runners may share the queue; jobs are claimed with SKIP LOCKED.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { run, type Runner, type WorkerEvents } from "graphile-worker";
import type { Pool } from "pg";
import type { Config } from "../server/config.ts";
import type { Logger } from "../server/log.ts";
import { setWorkerContext } from "./context.ts";
import { holdRunnerLiveness } from "./liveness.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface WorkerOptions {
  config: Config;
  pool: Pool;
  log: Logger;
  taskDirectory?: string;
  crontabFile?: string;
  concurrency?: number;
}

export async function startWorker(options: WorkerOptions): Promise<Runner> {
  const { config, pool, log } = options;
  setWorkerContext({ config, pool, log });
  const events: WorkerEvents = new EventEmitter();
  let poolId: string | undefined;
  events.on("pool:create", ({ workerPool }) => (poolId = workerPool.id));
  const runner = await run({
    events,
    pgPool: pool,
    taskDirectory: options.taskDirectory ?? path.join(HERE, "tasks"),
    crontabFile: options.crontabFile ?? path.join(HERE, "crontab"),
    concurrency: options.concurrency ?? config.workerConcurrency,
    noHandleSignals: true,
    pollInterval: 1000,
  });
  // Jobs this runner holds go back to the queue at once if it dies (worker/liveness.ts).
  if (!poolId) throw new Error("graphile-worker started without announcing its worker pool (pool:create)");
  const liveness = await holdRunnerLiveness(pool, poolId, log);
  const stop = runner.stop.bind(runner);
  runner.stop = async (...args) => {
    await stop(...args);
    await liveness.release();
  };
  runner.promise.finally(() => liveness.release()).catch(() => {});
  log.info({ concurrency: options.concurrency ?? config.workerConcurrency }, "worker started");
  return runner;
}

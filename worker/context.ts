/**
 * What tasks share with the process that runs them: validated config, the pool, the logger. Set once by the
 * runner; tasks read it with workerContext().
 */
import type { Pool } from "pg";
import type { Config } from "../server/config.ts";
import type { Logger } from "../server/log.ts";

export interface WorkerContext {
  config: Config;
  pool: Pool;
  log: Logger;
}

let current: WorkerContext | undefined;

export function setWorkerContext(context: WorkerContext): void {
  current = context;
}

export function workerContext(): WorkerContext {
  if (!current) throw new Error("worker context not set: tasks run only inside startWorker()");
  return current;
}

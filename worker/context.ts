/**
 * What tasks share with the process that runs them: validated config, the pool, the logger. Set once by the
 * runner; tasks read it with workerContext().
 */
import type { Pool } from "pg";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/log.ts";

export interface WorkerContext {
  config: Config;
  pool: Pool;
  log: Logger;
  /** The tasks the crontab runs (periodic tasks): of each, only the newest dead letter is kept (worker__unlock_dead). */
  cronTasks: readonly string[];
}

// Kept on globalThis: graphile-worker imports task files itself, and a test runner's module graph may load this
// file a second time; both copies must see the same context.
const KEY = Symbol.for("nomadnexus.workerContext");
const store = globalThis as typeof globalThis & { [KEY]?: WorkerContext };

export function setWorkerContext(context: WorkerContext): void {
  store[KEY] = context;
}

export function workerContext(): WorkerContext {
  const current = store[KEY];
  if (!current) throw new Error("worker context not set: tasks run only inside startWorker()");
  return current;
}

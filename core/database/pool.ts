import pg from "pg";
import type { Logger } from "../log.ts";

let shuttingDown = false;

/**
 * The process is stopping (Ctrl-C, SIGTERM) and will stop its embedded Postgres too: a connection it loses from now
 * on is the shutdown itself, not news for an operator, so it is logged at debug instead of as a warning.
 */
export function poolsShuttingDown(): void {
  shuttingDown = true;
}

/**
 * A pg Pool whose idle and checked-out clients cannot crash the process when the server drops a connection
 * (restart, failover): the error is logged and the next query gets a fresh connection.
 */
export function createPool(url: string, log: Logger | undefined, max = 20, options: { role?: string } = {}): pg.Pool {
  // A session role is a startup parameter, so no connection ever runs a statement as the login role first.
  const role = options.role ? { options: `-c role=${options.role}` } : {};
  const pool = new pg.Pool({ connectionString: url, max, ...role });
  const onError = (error: Error & { code?: string }) =>
    log?.[shuttingDown ? "debug" : "warn"]({ code: error.code, error: error.message }, "database connection lost");
  pool.on("error", onError);
  pool.on("connect", (client) => client.on("error", onError));
  return pool;
}

/**
 * The worker's connections: the same login as the server (nexus_authenticator), switched for the whole session
 * to `nexus_worker`, the role that may run graphile-worker's queue (db/migrations/…_worker_role.sql).
 */
export const WORKER_ROLE = "nexus_worker";

export function createWorkerPool(url: string, log: Logger | undefined, concurrency: number): pg.Pool {
  // One connection per concurrent job, plus graphile-worker's LISTEN client, heartbeats and job completion.
  return createPool(url, log, concurrency + 4, { role: WORKER_ROLE });
}

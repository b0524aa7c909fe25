import pg from "pg";
import type { Logger } from "../log.ts";

/**
 * A pg Pool whose idle and checked-out clients cannot crash the process when the server drops a connection
 * (restart, failover): the error is logged and the next query gets a fresh connection.
 */
export function createPool(url: string, log: Logger | undefined, max = 20): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  const onError = (error: Error & { code?: string }) =>
    log?.warn({ code: error.code, error: error.message }, "database connection lost");
  pool.on("error", onError);
  pool.on("connect", (client) => client.on("error", onError));
  return pool;
}

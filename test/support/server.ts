/**
 * The real HTTP server (and optionally the worker) on a test database, listening on a free loopback port.
 */
import type { AddressInfo } from "node:net";
import "../../core/env.ts";
import pg from "pg";
import type { Runner } from "graphile-worker";
import { createServer, type NexusServer } from "../../server/app.ts";
import { loadConfig, type Config } from "../../core/config.ts";
import { createPool } from "../../core/database/pool.ts";
import { createLogger } from "../../core/log.ts";
import { startWorker } from "../../worker/runner.ts";
import { createTestDatabase, type TestDatabase } from "./db.ts";
import { graphql, rest, type HttpAnswer } from "./http.ts";

export const TEST_JWT_SECRET = "test-secret-that-is-at-least-32-characters-long";

export interface TestServer {
  baseUrl: string;
  config: Config;
  pool: pg.Pool;
  db: TestDatabase;
  server: NexusServer;
  worker?: Runner;
  graphql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<HttpAnswer<{ data?: T; errors?: any[] }>>;
  /** POST /functions/v1/<name> (test/support/http.ts). */
  rest<T = any>(name: string, body: unknown, token?: string): Promise<HttpAnswer<T>>;
  close(): Promise<void>;
}

export async function startTestServer(
  options: { env?: Record<string, string>; worker?: boolean; taskDirectory?: string; crontabFile?: string; db?: TestDatabase } = {},
): Promise<TestServer> {
  // A database the test made itself (e.g. filled by a CLI run first) stays the test's to drop.
  const db = options.db ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    ...options.env,
  });
  const log = createLogger(config.logLevel);
  const pool = createPool(db.url, log);
  const server = await createServer({ config, pool, log });
  await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const worker = options.worker
    ? await startWorker({ config, pool, log, taskDirectory: options.taskDirectory, crontabFile: options.crontabFile, concurrency: 4 })
    : undefined;
  return {
    baseUrl,
    config,
    pool,
    db,
    server,
    worker,
    graphql: (query, variables, token) => graphql(baseUrl, query, variables, token),
    rest: (name, body, token) => rest(baseUrl, name, body, token),
    async close() {
      const mark = (m: string) => process.env.DEBUG_CLOSE && console.log(m, Date.now());
      mark("worker");
      await worker?.stop();
      mark("server");
      await server.close();
      mark("pool");
      await pool.end();
      mark("db");
      if (!options.db) await db.drop();
      mark("done");
    },
  };
}

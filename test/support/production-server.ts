/**
 * One production `node main.ts --server` for a whole test file, on a test database of its own: the attacks that
 * must be tried against the running server as a deployment runs it. Registers the file's beforeAll and afterAll
 * and returns their handles, which are set once beforeAll has run.
 */
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createTestDatabase, type TestDatabase } from "./db.ts";
import { productionEnv, startNexusProcess, type NexusProcess } from "./nexus-process.ts";

export interface ProductionServer {
  db: TestDatabase;
  /** The database's owner (two connections), for the file's own rows and checks. */
  pool: pg.Pool;
  nexus: NexusProcess;
}

/**
 * `name` keeps the server's secrets its own (productionEnv); `env` is added to production's. `prepare` runs on the
 * migrated database before the server starts (members, nets, files the server reads at start-up).
 */
export function useProductionServer(
  name: string,
  env: Record<string, string> = {},
  prepare?: (server: Omit<ProductionServer, "nexus">) => Promise<void>,
): ProductionServer {
  const server = {} as ProductionServer;
  beforeAll(async () => {
    server.db = await createTestDatabase();
    server.pool = new pg.Pool({ connectionString: server.db.url, max: 2 });
    await prepare?.(server);
    server.nexus = await startNexusProcess({ ...productionEnv(server.db.url, name), ...env }, ["--server"]);
  }, 90_000);
  afterAll(async () => {
    await server.nexus?.stop();
    await server.pool?.end();
    await server.db?.drop();
  });
  return server;
}

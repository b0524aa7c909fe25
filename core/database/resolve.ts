/**
 * Where the database is: DATABASE_URL when set, else the embedded Postgres in NEXUS_DATA_DIR (started here, or
 * reused if another process on this data folder already runs it). Returns the validated config with any
 * development secrets the embedded mode generated.
 */
import { loadConfig, type Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { startEmbedded } from "./embedded.ts";

export interface ResolvedDatabase {
  config: Config;
  url: string;
  /** Where migrations run: DATABASE_OWNER_URL, else the same as url. */
  ownerUrl: string;
  embedded: boolean;
  stop(): Promise<void>;
}

export async function resolveDatabase(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedDatabase> {
  const preliminary = loadConfig(env, { JWT_SECRET: "x".repeat(32) });
  if (preliminary.databaseUrl) {
    const config = loadConfig(env);
    return { config, url: preliminary.databaseUrl, ownerUrl: config.databaseOwnerUrl ?? preliminary.databaseUrl, embedded: false, stop: async () => {} };
  }
  const db = await startEmbedded(preliminary.dataDir, log);
  const config = loadConfig(env, db.secrets);
  return { config, url: db.url, ownerUrl: db.url, embedded: true, stop: db.stop };
}

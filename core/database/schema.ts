/**
 * The start-up check of the server and the worker: the database's migrations are exactly this release's
 * db/migrations. The rules live in SQL, so code on a schema behind it (a release deployed without `db migrate`)
 * or ahead of it (an older release started on a newer schema) would enforce rules it was not written for, and
 * /readyz would still say ready. Either way the process refuses to start, in one line.
 *
 * nexus_authenticator may not read dbmate.schema_migrations: it asks nexus_private.applied_migrations(), a
 * security definer function of migration 20261203000100 that answers the versions only.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { OneLineError } from "../fatal.ts";
import { definitionSources, definitionsDigest, ROOT } from "./migrate.ts";

/** The migration that added nexus_private.applied_migrations(): a database without the function lacks it. */
export const APPLIED_MIGRATIONS_VERSION = "20261203000100";

export async function migrationFiles(root: string = ROOT): Promise<string[]> {
  return (await readdir(path.join(root, "db/migrations"))).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
}

/** The database's applied versions, or why they cannot be known (as a thrown error from pg). */
export async function appliedMigrations(client: pg.ClientBase): Promise<string[]> {
  try {
    const { rows } = await client.query<{ v: string }>("select v from nexus_private.applied_migrations() v");
    return rows.map((r) => r.v);
  } catch (error) {
    // No such function (42883) or schema (3F000): older than 20261203000100, or never migrated. The owner can
    // still read the ledger itself.
    const code = (error as { code?: string }).code;
    if (code !== "42883" && code !== "3F000") throw error;
    const { rows } = await client.query<{ v: string }>("select version::text as v from dbmate.schema_migrations order by 1");
    return rows.map((r) => r.v);
  }
}

const list = (items: string[]) => (items.length <= 3 ? items.join(", ") : `${items.slice(0, 3).join(", ")} and ${items.length - 3} more`);

/** The one line that refuses a start, or undefined when the database's migrations are this release's. */
export function schemaMismatch(files: string[], applied: string[]): string | undefined {
  const versions = new Set(files.map((f) => f.split("_")[0]!));
  const have = new Set(applied);
  const missing = files.filter((f) => !have.has(f.split("_")[0]!));
  const unknown = applied.filter((v) => !versions.has(v)).sort();
  if (unknown.length > 0) {
    const one = unknown.length === 1;
    return (
      `the database has ${one ? "a migration" : "migrations"} this release does not know: ${list(unknown)} (a newer release's): ` +
      `deploy that release, or roll ${one ? "it" : "them"} back with its code and apply this release's definitions (docs/operations.md, 8.1)`
    );
  }
  if (missing.length > 0) {
    return `the database lacks migration${missing.length === 1 ? "" : "s"} ${list(missing)} of this release: run npm run db:migrate (as the schema owner) before starting`;
  }
  return undefined;
}

export async function assertSchemaCurrent(url: string): Promise<void> {
  const files = await migrationFiles();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let applied: string[];
    try {
      applied = await appliedMigrations(client);
    } catch (error) {
      const code = (error as { code?: string }).code;
      // The function is missing and this login may not read the ledger (or there is none): the database is at
      // least one migration behind, this one.
      if (code === "42501" || code === "42P01" || code === "3F000") {
        const file = files.find((f) => f.startsWith(`${APPLIED_MIGRATIONS_VERSION}_`)) ?? APPLIED_MIGRATIONS_VERSION;
        throw new OneLineError(`the database lacks migration ${file} of this release (and perhaps more): run npm run db:migrate (as the schema owner) before starting`);
      }
      throw error;
    }
    const mismatch = schemaMismatch(files, applied) ?? (await definitionsMismatch(client));
    if (mismatch) throw new OneLineError(mismatch);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The one line that refuses a start when the database's functions and policies are not this release's (applied
 * from another release's checkout, or not since this release's migrate), or undefined when they are.
 */
export async function definitionsMismatch(client: pg.ClientBase, root: string = ROOT): Promise<string | undefined> {
  const ours = definitionsDigest(await definitionSources(root));
  let theirs: string | null = null;
  try {
    theirs = (await client.query<{ d: string | null }>("select nexus_private.applied_definitions() as d")).rows[0]?.d ?? null;
  } catch (error) {
    // No such function: the definitions were applied by a release without it (an older one), or never.
    if ((error as { code?: string }).code !== "42883") throw error;
  }
  if (theirs === ours) return undefined;
  return (
    "the database's functions and policies are not this release's (another release's were applied, or none since this release's migrate): " +
    "run npm run nexus -- db definitions with this release (docs/operations.md, 8.1)"
  );
}

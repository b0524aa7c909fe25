/**
 * Schema management: dbmate applies the numbered migrations in db/migrations (plain SQL, up and down), then
 * graphile-worker installs its queue schema, then every file in db/functions and db/policies is re-applied in one
 * transaction (they are idempotent: create or replace, drop-and-create policies).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBinary } from "dbmate";
import { runMigrations as installWorkerSchema } from "graphile-worker";
import { createPool } from "./pool.ts";
import { commandClient } from "../command.ts";
import type pg from "pg";

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
    { env: { ...process.env, DATABASE_URL: dbmateUrl(url) }, stdio: ["ignore", "pipe", "pipe"] },
  );
  // However this process ends (a second Ctrl-C or SIGTERM while a migration waits on a lock, a command's exit),
  // dbmate ends with it rather than running on, orphaned, to apply migrations once the lock frees.
  const endWithUs = () => child.kill("SIGTERM");
  process.once("exit", endWithUs);
  child.once("close", () => process.off("exit", endWithUs));
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    if (output === "inherit") process.stdout.write(chunk);
  });
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const code: number = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(dbmateFailure(url, args, out, err));
  return out;
}

/**
 * dbmate's error, with the migration it was applying or undoing (its last "Applying:"/"Rolling back:" line) and,
 * for a refused privilege (SQLSTATE 42501, which lib/pq prints in brackets at the end), the likely cause.
 */
export function dbmateFailure(url: string, args: string[], out: string, err: string): string {
  const message = err.trim() || out.trim();
  const file = [...out.matchAll(/^(?:Applying|Rolling back): (\S+)/gm)].at(-1)?.[1];
  let line = `dbmate ${args.join(" ")} failed${file ? ` in db/migrations/${file}` : ""}: ${message}`;
  if (/\(42501\)\s*$/.test(message)) {
    const user = decodeURIComponent(new URL(url).username) || "the URL's role";
    line += file
      ? ` — ${user} lacks a privilege this migration needs: a superuser creates the roles first (docs/operations.md, "Migrations and roles")`
      : ` — ${user} may not run migrations: set DATABASE_OWNER_URL to the schema owner's URL (docs/operations.md, "Migrations and roles")`;
  }
  return line;
}

async function sqlFiles(root: string, dir: string): Promise<string[]> {
  const names = (await readdir(path.join(root, dir))).filter((n) => n.endsWith(".sql")).sort();
  return names.map((n) => path.join(root, dir, n));
}

export interface Definitions {
  files: number;
  /** What the files no longer define, dropped: `drop function nexus_private.f(uuid)`, `drop policy p on public.t`, … */
  dropped: string[];
}

/**
 * Re-apply db/functions then db/policies in one transaction: all of them or none. `root` is the release whose
 * files to apply (this one by default; a rollback applies the older release's, docs/operations.md §8.1).
 *
 * `create or replace` cannot remove what a file stopped defining: a function whose arguments changed stays behind
 * as a second overload (an older release then meets "function … is not unique", or calls a body written for a
 * newer schema), and a function, policy or trigger another release's files added stays in force. So, in the same
 * transaction, this drops (1) every other overload of a function name the files defined in this run, and (2)
 * whatever the previous run recorded in nexus_private.definitions that this run did not define: what is left is
 * exactly what the files define, and the ledger is rewritten to it. "Defined in this run" means its catalog row
 * is new or was rewritten by this transaction (its xmin changed). Only the schemas public, auth and
 * nexus_private are looked at; extensions' functions, and functions and triggers only migrations define (never
 * in the ledger, other names), are never touched, as long as no file grants on or alters a function it does not
 * create (that would rewrite its row and make it the files'; test/foundation/definitions.test.ts checks this). The stale objects are found by a first pass that is undone,
 * and dropped before the files run for real, so an older release's files never meet a newer overload that makes
 * one of their calls ambiguous. Without CASCADE: something that still depends on a stale object fails the whole
 * run, naming it, rather than losing it silently.
 */
export async function applyDefinitions(url: string, root: string = ROOT): Promise<Definitions> {
  const sources = await definitionSources(root);
  const digest = definitionsDigest(sources);
  const client = commandClient({ connectionString: url });
  const run = async (withChecks: boolean) => {
    for (const { name, sql } of sources) {
      try {
        await client.query(sql);
      } catch (error) {
        throw new Error(`${name}${withChecks ? "" : " (finding what the files define)"}: ${(error as Error).message}`, { cause: error });
      }
    }
  };
  // The ledger's statements name every object with its schema, whatever the session's search_path (a role's own,
  // another login's): regprocedure and regclass leave out a schema that is on the path, and a ledger written under
  // one path would not match the same objects read under another (what is stale would then stay, silently).
  const ledger = async <R extends pg.QueryResultRow>(sql: string) => {
    await client.query("set local search_path = pg_catalog");
    const result = await client.query<R>(sql);
    await client.query("select set_config('search_path', $1, true)", [searchPath]);
    return result;
  };
  let searchPath = "";
  await client.connect();
  try {
    await client.query("begin");
    searchPath = (await client.query<{ path: string }>("select current_setting('search_path') as path")).rows[0]!.path;
    // First pass, undone: what the files define, hence what is stale. Function bodies are not checked in it: a
    // stale overload may make a call in one ambiguous until it is dropped.
    await client.query(`create table if not exists nexus_private.definitions (statement text primary key)`);
    await client.query(`comment on table nexus_private.definitions is
      'What db/functions and db/policies installed in their last run (core/database/migrate.ts applyDefinitions): the next run drops what it no longer defines.'`);
    await client.query(`create table if not exists nexus_private.definitions_applied (digest text not null)`);
    await client.query(`comment on table nexus_private.definitions_applied is
      'The SHA-256 of the db/functions and db/policies files applyDefinitions applied last: read at start through nexus_private.applied_definitions().'`);
    await client.query(`create temp table nexus_definitions_before on commit drop as
                          select 'f' as kind, oid, xmin::text as version from pg_catalog.pg_proc
                          union all select 'p', oid, xmin::text from pg_catalog.pg_policy
                          union all select 't', oid, xmin::text from pg_catalog.pg_trigger`);
    await client.query("savepoint definitions");
    await client.query("set local check_function_bodies = off");
    await run(false);
    const { rows } = await ledger<{ statement: string }>(STALE_DEFINITIONS);
    // The functions the files define: what they are granted is what the files grant (below).
    const defined = await ledger<{ fn: string }>(`${OBJECTS} select oid_text as fn from objects where ord = 2 and written`);
    await client.query("rollback to savepoint definitions"); // check_function_bodies too
    const drop = async (statement: string) => {
      try {
        await client.query(statement);
      } catch (error) {
        throw new Error(`${statement} (no longer defined by db/functions or db/policies): ${(error as Error).message}`, { cause: error });
      }
    };
    // Dropped before the files run, except what something the files replace still depends on (a policy of the
    // same name using a function of another name, 2BP01): dropped after.
    const later: string[] = [];
    for (const { statement } of rows) {
      await client.query("savepoint stale");
      try {
        await client.query(statement);
      } catch (error) {
        if ((error as { code?: string }).code !== "2BP01") throw new Error(`${statement}: ${(error as Error).message}`, { cause: error });
        await client.query("rollback to savepoint stale");
        later.push(statement);
      }
    }
    // `create or replace` keeps a function's privileges: a grant another release's files made on a function both
    // define (to anon, say) would outlive a rollback. Each function the files define loses what the API and worker
    // roles were granted on it, and gets back what the files grant. (PUBLIC's default EXECUTE is left as it is.)
    // (Those new in this run do not exist again yet: to_regprocedure leaves them out.)
    const revokes = await client.query<{ statement: string }>(
      `select format('revoke all on function %s from ${API_AND_WORKER_ROLES}', to_regprocedure(fn)) as statement
         from unnest($1::text[]) fn where to_regprocedure(fn) is not null`,
      [defined.rows.map((r) => r.fn)],
    );
    if (revokes.rows.length > 0) await client.query(revokes.rows.map((r) => r.statement).join(";\n"));
    await run(true);
    for (const statement of later) await drop(statement);
    await client.query("delete from nexus_private.definitions");
    await ledger(RECORD_DEFINITIONS);
    // Which files these were: the server and the worker start only on their own release's (schema.ts).
    await client.query("delete from nexus_private.definitions_applied");
    await client.query("insert into nexus_private.definitions_applied (digest) values ($1)", [digest]);
    await client.query("commit");
    return { files: sources.length, dropped: rows.map((r) => r.statement) };
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

/** db/functions then db/policies of a release's checkout, each with its path in the release and its text. */
export async function definitionSources(root: string = ROOT): Promise<{ name: string; sql: string }[]> {
  const files = [...(await sqlFiles(root, "db/functions")), ...(await sqlFiles(root, "db/policies"))];
  return Promise.all(files.map(async (file) => ({ name: path.relative(root, file), sql: await readFile(file, "utf8") })));
}

/** What identifies a release's definitions: the SHA-256 of the files' paths and texts, in order. */
export function definitionsDigest(sources: { name: string; sql: string }[]): string {
  const hash = createHash("sha256");
  for (const { name, sql } of sources) hash.update(`${name}\0${sql}\0`);
  return hash.digest("hex");
}

/** The roles a definition file grants to (what applyDefinitions revokes before the files grant again). */
const API_AND_WORKER_ROLES = "anon, authenticated, service_role, nexus_authenticator, nexus_worker";

/** Every function, policy and trigger of this project's schemas, as the statement that drops it, and whether this run wrote it. */
const OBJECTS = `
  with ours as (
    select oid from pg_catalog.pg_namespace where nspname in ('public', 'auth', 'nexus_private')
  ), objects as (
    select 2 as ord, format('drop %s %s', case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
                            p.oid::regprocedure) as statement, p.oid::regprocedure::text as oid_text,
           (b.oid is null or b.version <> p.xmin::text) as written, p.pronamespace, p.proname
      from pg_catalog.pg_proc p
      left join nexus_definitions_before b on b.kind = 'f' and b.oid = p.oid
     where p.pronamespace in (select oid from ours)
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
    union all
    select 1, format('drop policy %I on %s', p.polname, p.polrelid::regclass), null,
           (b.oid is null or b.version <> p.xmin::text), null, null
      from pg_catalog.pg_policy p join pg_catalog.pg_class c on c.oid = p.polrelid
      left join nexus_definitions_before b on b.kind = 'p' and b.oid = p.oid
     where c.relnamespace in (select oid from ours)
    union all
    select 0, format('drop trigger %I on %s', t.tgname, t.tgrelid::regclass), null,
           (b.oid is null or b.version <> t.xmin::text), null, null
      from pg_catalog.pg_trigger t join pg_catalog.pg_class c on c.oid = t.tgrelid
      left join nexus_definitions_before b on b.kind = 't' and b.oid = t.oid
     where not t.tgisinternal and c.relnamespace in (select oid from ours)
  )`;

/**
 * What to drop: what an earlier run of the definitions installed (nexus_private.definitions) that this run did
 * not, and every other overload of a function name this run defined. Triggers first, then policies (either may
 * use a function), then functions.
 */
const STALE_DEFINITIONS = `${OBJECTS}
  select ord, statement from objects o
   where not o.written
     and (o.statement in (select statement from nexus_private.definitions)
          or (o.ord = 2 and (o.pronamespace, o.proname) in (select pronamespace, proname from objects where ord = 2 and written)))
   order by ord, statement`;

const RECORD_DEFINITIONS = `${OBJECTS}
  insert into nexus_private.definitions (statement) select statement from objects where written`;

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

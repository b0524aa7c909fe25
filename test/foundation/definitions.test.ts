/**
 * db/functions and db/policies are re-applied by every `db migrate` (core/database/migrate.ts applyDefinitions).
 * `create or replace` alone left behind what the files stopped defining: an older release's overload of a function
 * whose arguments had changed ("function … is not unique" once both existed), and a newer release's functions,
 * policies and triggers after a rollback (operations.md §8.1: the old release then signed nobody in). Applying
 * the definitions now leaves exactly what the files define, and nothing else is touched.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDefinitions, ROOT } from "../../core/database/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { createMember } from "../support/members.ts";

let db: TestDatabase;
let pool: pg.Pool;
let newer: string;

/** Every function (with its arguments), policy and trigger of the database, extensions' and graphile-worker's included. */
async function catalog(): Promise<string[]> {
  const { rows } = await pool.query<{ o: string }>(
    `select 'function ' || p.oid::regprocedure::text as o from pg_proc p
       join pg_namespace n on n.oid = p.pronamespace
      where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
     union all select 'policy ' || polname || ' on ' || polrelid::regclass::text from pg_policy
     union all select 'trigger ' || tgname || ' on ' || tgrelid::regclass::text from pg_trigger where not tgisinternal
     order by 1`,
  );
  return rows.map((r) => r.o);
}

/** What going back from the newer release's files to this release's drops: the trigger and policy before the function they use. */
const NEWER_DROPPED = [
  "drop trigger skills_newer_only on public.skills",
  "drop policy skills_newer_only on public.skills",
  "drop function nexus_private.as_uuid(text,boolean)",
  "drop function nexus_private.newer_only()",
];

const anonMayRevoke = async (): Promise<boolean> =>
  (await pool.query("select has_function_privilege('anon', 'public.revoke_mentor_certification(uuid,uuid)', 'execute') as x")).rows[0].x;

async function signIn(email: string): Promise<string | null> {
  const { rows } = await pool.query("select (auth.sign_in($1, 'password-123')).error", [email]);
  return rows[0].error;
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // A newer release: this release's files, plus a function of a new name, a new overload of an existing one, a
  // trigger and a policy.
  newer = mkdtempSync(path.join(os.tmpdir(), "nexus-newer-release-"));
  cpSync(path.join(ROOT, "db/functions"), path.join(newer, "db/functions"), { recursive: true });
  cpSync(path.join(ROOT, "db/policies"), path.join(newer, "db/policies"), { recursive: true });
  writeFileSync(
    path.join(newer, "db/functions/99_newer.sql"),
    `create or replace function nexus_private.newer_only() returns trigger language plpgsql as $$
     begin raise exception 'a newer release''s rule'; end $$;
     create or replace trigger skills_newer_only before insert on public.skills
       for each row execute function nexus_private.newer_only();
     create or replace function nexus_private.as_uuid(value text, strict boolean) returns uuid
       language sql immutable as $$ select value::uuid $$;
     grant execute on function public.revoke_mentor_certification(uuid, uuid) to anon;`,
  );
  writeFileSync(
    path.join(newer, "db/policies/zz_newer.sql"),
    `drop policy if exists skills_newer_only on public.skills;
     create policy skills_newer_only on public.skills for select to anon using (true);`,
  );
});

afterAll(async () => {
  rmSync(newer, { recursive: true, force: true });
  await pool?.end();
  await db?.drop();
});

describe("applying the definitions leaves exactly what the files define", () => {
  it("an older release's overload of a function is dropped, and the call it made ambiguous works again", async () => {
    const before = await catalog();
    const member = await createMember(pool, "SCOUT");
    const email = `${member.callsign}@members.test`;
    // What an older release's files installed under an argument list this release no longer has.
    await pool.query(`create function auth.sign_in(email text, password text, user_agent text default null)
                        returns auth.session_outcome language sql as $$ select null::auth.session_outcome $$`);
    await expect(signIn(email)).rejects.toThrow(/is not unique/);
    const applied = await applyDefinitions(db.url);
    expect(applied.dropped).toEqual(["drop function auth.sign_in(text,text,text)"]);
    expect(await signIn(email)).toBeNull();
    expect(await catalog()).toEqual(before);
    expect((await applyDefinitions(db.url)).dropped).toEqual([]);
  });

  it("rolling back to an older release's files drops what only the newer release's files defined; nothing else", async () => {
    const before = await catalog();
    // The newer release's `db definitions`, through the command line (its --from names the release's checkout).
    const cli = spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), "db", "definitions", "--from", newer], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, JWT_SECRET: "x".repeat(32), LOG_LEVEL: "silent" },
      encoding: "utf8",
    });
    expect(cli.stderr).toBe("");
    expect(cli.stdout).toMatch(/^\d+ function and policy files applied\n$/);
    const upgraded = await catalog();
    expect(upgraded.filter((o) => !before.includes(o)).sort()).toEqual([
      "function nexus_private.as_uuid(text,boolean)",
      "function nexus_private.newer_only()",
      "policy skills_newer_only on skills",
      "trigger skills_newer_only on skills",
    ]);
    // Back to this release's files: the newer objects go (the trigger and policy before the function they use).
    const applied = await applyDefinitions(db.url);
    expect(applied.dropped).toEqual(NEWER_DROPPED);
    expect(await catalog()).toEqual(before);
    expect(await pool.query("select nexus_private.as_uuid('not a uuid') as v")).toMatchObject({ rows: [{ v: null }] });
    // A grant the newer release's files made on a function both releases define is gone too.
    expect(await anonMayRevoke()).toBe(false);
  });

  it("the same under another search_path (a role's own, another login's), and the newer release's grants go too", async () => {
    const before = await catalog();
    expect(await anonMayRevoke()).toBe(false);
    await applyDefinitions(db.url, newer);
    expect(await anonMayRevoke(), "the newer release granted it").toBe(true);
    const otherPath = new URL(db.url);
    otherPath.searchParams.set("options", '-c search_path="$user"');
    const applied = await applyDefinitions(otherPath.toString());
    expect(applied.dropped).toEqual(NEWER_DROPPED);
    expect(await catalog()).toEqual(before);
    expect(await anonMayRevoke()).toBe(false);
    // What the files grant is granted again: a member may still call it.
    expect((await pool.query("select has_function_privilege('authenticated', 'public.revoke_mentor_certification(uuid,uuid)', 'execute') as x")).rows[0].x).toBe(true);
  });

  it("functions the files do not define (migrations', pgcrypto's, graphile-worker's) are never dropped", async () => {
    const before = await catalog();
    expect(before).toContain("function crypt(text,text)");
    expect(before.some((o) => o.startsWith("function graphile_worker.add_job("))).toBe(true);
    // A function of a name no file defines, as a migration might create.
    await pool.query("create function nexus_private.only_a_migration() returns int language sql as 'select 1'");
    expect((await applyDefinitions(db.url)).dropped).toEqual([]);
    expect(await catalog()).toEqual([...before, "function nexus_private.only_a_migration()"].sort());
  });

  it("what the ledger records is what the files create (a file that only granted on a migration's function would make it theirs)", async () => {
    const text = ["db/functions", "db/policies"]
      .flatMap((dir) => readdirSync(path.join(ROOT, dir)).map((f) => readFileSync(path.join(ROOT, dir, f), "utf8").toLowerCase()))
      .join("\n");
    const created = new Set([...text.matchAll(/create\s+(?:or\s+replace\s+)?(?:function|procedure|trigger|policy)\s+([\w.]+)/g)].map((m) => m[1]!.split(".").at(-1)));
    const { rows } = await pool.query<{ statement: string }>("select statement from nexus_private.definitions");
    expect(rows.length).toBeGreaterThan(100);
    const foreign = rows.map((r) => r.statement).filter((s) => !created.has(/^drop \w+ ([\w.]+)/.exec(s)![1]!.split(".").at(-1)));
    expect(foreign).toEqual([]);
  });
});

/**
 * Migrating as an owner that is not a superuser (docs/operations.md, "Migrations and roles"): on a cluster of its
 * own (roles are cluster-wide, and the shared test cluster already has them), a superuser runs the SQL the docs
 * give, verbatim, then an owner with CREATEROLE only migrates from scratch through every migration, rolls every one
 * back and migrates again. Before the fix, migration …_worker_role.sql altered nexus_worker's BYPASSRLS
 * unconditionally ("must be superuser to change bypassrls attribute", 18 of 35 applied, no file named). Without the
 * roles, the first migration says what to do, and the error names the file.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbmate, migrate, rollback, ROOT } from "../../core/database/migrate.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { allowAuthenticatorLogin } from "../support/db.ts";

let cluster: Cluster;

/** The SQL block of operations.md's "Migrations and roles", one statement at a time (create database cannot share one). */
function documentedRolesSql(): string[] {
  const doc = readFileSync(path.join(ROOT, "docs/operations.md"), "utf8");
  const section = doc.slice(doc.indexOf("### Migrations and roles"));
  const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no ```sql block in operations.md\'s "Migrations and roles"');
  return block
    .split("\n")
    .filter((line) => !line.startsWith("--"))
    .join("\n")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
}

async function asSuperuser(statements: string[], database = "postgres") {
  const client = new pg.Client({ connectionString: cluster.adminUrl(database) });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

const urlAs = (user: string, database: string) => `postgres://${user}@127.0.0.1:${cluster.port}/${database}`;

beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(() => cluster?.stop());

describe("migrating as an owner that is not a superuser", () => {
  it("without the roles: the first migration refuses, naming its file and the docs' SQL", async () => {
    await asSuperuser(["create role early_owner login createrole", "create database early owner early_owner"]);
    await expect(migrate(urlAs("early_owner", "early"))).rejects.toThrow(
      /^dbmate up failed in db\/migrations\/20261125000100_roles_and_schemas\.sql: .*role service_role does not exist, and only a superuser may create it .*docs\/operations\.md, "Migrations and roles"/,
    );
  });

  it("with the roles the docs' SQL creates: every migration, every rollback, and every migration again", async () => {
    await asSuperuser(documentedRolesSql());
    const url = urlAs("nexus_owner", "nexus");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("select rolsuper, rolcreaterole from pg_roles where rolname = current_user");
      expect(rows[0]).toEqual({ rolsuper: false, rolcreaterole: true });
    } finally {
      await client.end();
    }
    await migrate(url);
    const files = (await dbmate(url, ["status"])).match(/\[X\]/g)?.length ?? 0;
    expect(files).toBe(readdirSync(path.join(ROOT, "db/migrations")).filter((n) => n.endsWith(".sql")).length);
    for (let i = 0; i < files; i++) await rollback(url);
    expect((await dbmate(url, ["status"])).match(/\[X\]/g)).toBeNull();
    await migrate(url);
    expect((await dbmate(url, ["status"])).match(/\[X\]/g)?.length).toBe(files);
    const roles = new pg.Client({ connectionString: cluster.adminUrl("nexus") });
    await roles.connect();
    try {
      const { rows } = await roles.query(
        `select r.rolname, r.rolbypassrls, array(select m.rolname from pg_auth_members a join pg_roles m on m.oid = a.roleid
                                                  where a.member = r.oid order by 1)::text[] as member_of
           from pg_roles r where r.rolname in ('nexus_authenticator', 'nexus_worker', 'service_role') order by 1`,
      );
      expect(rows).toEqual([
        { rolname: "nexus_authenticator", rolbypassrls: false, member_of: ["anon", "authenticated", "nexus_worker", "service_role"] },
        { rolname: "nexus_worker", rolbypassrls: true, member_of: ["service_role"] },
        { rolname: "service_role", rolbypassrls: true, member_of: [] },
      ]);
      // …_worker_role.sql describes the role it did not create (COMMENT ON ROLE: ADMIN OPTION on 16+).
      const { rows: described } = await roles.query("select shobj_description('nexus_worker'::regrole, 'pg_authid') as comment");
      expect(described[0].comment).toMatch(/^graphile-worker runners: /);
    } finally {
      await roles.end();
    }
  }, 180_000);

  it("the owner gives nexus_authenticator its password (db login-password)", async () => {
    // On PostgreSQL 16+ CREATEROLE alone may not alter a role the owner did not create: "permission denied to alter role".
    const result = allowAuthenticatorLogin(urlAs("nexus_owner", "nexus"));
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("nexus_authenticator may log in with NEXUS_AUTHENTICATOR_PASSWORD\n");
    expect(result.status).toBe(0);
    // The cluster trusts every local login, so the password's presence is what to check.
    const roles = new pg.Client({ connectionString: cluster.adminUrl() });
    await roles.connect();
    try {
      const { rows } = await roles.query("select rolcanlogin, rolpassword like 'SCRAM-SHA-256$%' as scram from pg_authid where rolname = 'nexus_authenticator'");
      expect(rows).toEqual([{ rolcanlogin: true, scram: true }]);
    } finally {
      await roles.end();
    }
  });

  it("db login-password as an owner that may not alter the role says what it lacks", async () => {
    await asSuperuser(["create role plain_owner login"]);
    const result = allowAuthenticatorLogin(urlAs("plain_owner", "nexus"));
    expect(result.stderr).toMatch(
      /^error: db login-password: permission denied.*: the owner needs CREATEROLE and, on PostgreSQL 16\+, ADMIN OPTION on nexus_authenticator \(docs\/operations\.md, "Migrations and roles"\)\n$/,
    );
    expect(result.status).toBe(1);
  });

  it("migrating as nexus_authenticator (DATABASE_URL without DATABASE_OWNER_URL) says to set DATABASE_OWNER_URL", async () => {
    const error = await migrate(urlAs("nexus_authenticator", "nexus")).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^dbmate up failed: .*permission denied for schema dbmate.*\(42501\) — nexus_authenticator may not run migrations: set DATABASE_OWNER_URL to the schema owner's URL/,
    );
  });
});

/**
 * docs/operations.md's backup and restore (2.1, "Restoring a backup"), run as written on two clusters of their own:
 * a dump taken with the owner's login, restored into a new cluster where a superuser first ran the roles' SQL of
 * "Migrations and roles". Before the docs said so, a restore into a cluster without the roles gave 178 errors
 * ("role authenticated does not exist"), and policies and grants were lost for good (db migrate found every
 * migration applied). Then the staging copy's SQL: no job left to run, no push subscription to send to.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, ROOT } from "../../core/database/migrate.ts";
import { findPostgresBinDir, startCluster, type Cluster } from "../support/cluster.ts";

let source: Cluster;
let target: Cluster;
let dir: string;
const doc = readFileSync(path.join(ROOT, "docs/operations.md"), "utf8");

/** The ```sql block after `heading` in operations.md, one statement at a time (create database cannot share one). */
function sqlBlock(heading: string): string[] {
  const block = /```sql\n([\s\S]*?)```/.exec(doc.slice(doc.indexOf(heading)))?.[1];
  if (!block) throw new Error(`no sql block after ${heading}`);
  return block
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s && !/^(begin|commit)$/i.test(s));
}

async function run(url: string, statements: string[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const results = [];
    for (const statement of statements) results.push(await client.query(statement));
    return results;
  } finally {
    await client.end();
  }
}

const owner = (cluster: Cluster) => `postgres://nexus_owner@127.0.0.1:${cluster.port}/nexus`;
const bin = (name: string) => path.join(findPostgresBinDir()!, name);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "nexus-backup-"));
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  await run(source.adminUrl(), sqlBlock("### Migrations and roles"));
  await migrate(owner(source));
  await run(owner(source), [
    "select nexus_private.create_user('restored@nexus.test', 'password-123', 'Restored', 'SCOUT')",
    `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
       select id, 'https://fcm.googleapis.com/fcm/send/restored', 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', 'tBHItJI5svbpez7KI4CCXg'
         from public.profiles where callsign = 'Restored'`,
    "select graphile_worker.add_job('presence__sweep', '{}')",
  ]);
}, 120_000);

afterAll(() => {
  source?.stop();
  target?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("backup and restore as operations.md says", () => {
  it("pg_dump with the owner's URL, the roles first, pg_restore as the owner: no error, the rules intact", async () => {
    const file = path.join(dir, "nexus.dump");
    const dump = spawnSync(bin("pg_dump"), ["-Fc", "-f", file, owner(source)], { encoding: "utf8" });
    expect(dump.stderr).toBe("");
    expect(dump.status).toBe(0);
    // The server's login may not dump it (2.1 says to dump as the owner).
    const asLogin = spawnSync(bin("pg_dump"), ["-Fc", "-f", path.join(dir, "no.dump"), owner(source).replace("nexus_owner@", "nexus_authenticator@")], { encoding: "utf8" });
    expect(asLogin.status).not.toBe(0);
    expect(asLogin.stderr).toMatch(/permission denied/);
    // What the trial met: a restore into a cluster without the roles loses every grant and policy.
    await run(target.adminUrl(), ["create database bare"]);
    const bare = spawnSync(bin("pg_restore"), ["--no-owner", "-d", target.adminUrl("bare"), file], { encoding: "utf8" });
    expect(bare.status).not.toBe(0);
    expect(bare.stderr).toMatch(/role "authenticated" does not exist/);
    // The new cluster: the roles and the empty database the same SQL creates, then the owner restores.
    await run(target.adminUrl(), sqlBlock("### Migrations and roles"));
    const restore = spawnSync(bin("pg_restore"), ["--exit-on-error", "--no-owner", "-d", owner(target), file], { encoding: "utf8" });
    expect(restore.stderr).toBe("");
    expect(restore.status).toBe(0);
    // Nothing to migrate; the definitions re-apply cleanly on the restored database.
    await migrate(owner(target));
    const shape = `select (select count(*) from pg_policies)::int as policies,
                          (select count(*) from information_schema.role_table_grants where grantee in ('anon', 'authenticated', 'service_role', 'nexus_worker'))::int as grants,
                          (select count(*) from information_schema.routine_privileges where grantee in ('anon', 'authenticated', 'service_role', 'nexus_worker', 'nexus_authenticator'))::int as executes`;
    const [before] = await run(owner(source), [shape]);
    const [after] = await run(owner(target), [shape]);
    expect(after!.rows[0]).toEqual(before!.rows[0]);
    expect(before!.rows[0].policies).toBeGreaterThan(10);
    const [signIn] = await run(owner(target), ["select (auth.sign_in('restored@nexus.test', 'password-123')).error"]);
    expect(signIn!.rows).toEqual([{ error: null }]);
  }, 120_000);

  it("into the same database (its roles are there): pg_restore --clean as the owner, no error", async () => {
    const restore = spawnSync(bin("pg_restore"), ["--clean", "--if-exists", "--exit-on-error", "--no-owner", "-d", owner(source), path.join(dir, "nexus.dump")], {
      encoding: "utf8",
    });
    expect(restore.stderr).toBe("");
    expect(restore.status).toBe(0);
    const [signIn] = await run(owner(source), ["select (auth.sign_in('restored@nexus.test', 'password-123')).error"]);
    expect(signIn!.rows).toEqual([{ error: null }]);
  });

  it("a staging copy: the docs' SQL leaves no job to run and no subscription to push to", async () => {
    const [jobs] = await run(owner(target), ["select count(*)::int as n from graphile_worker.jobs"]);
    expect(jobs!.rows[0].n).toBeGreaterThan(0);
    await run(owner(target), sqlBlock("#### A staging copy"));
    const [left] = await run(owner(target), [
      `select (select count(*) from graphile_worker.jobs)::int as jobs, (select count(*) from public.push_subscriptions)::int as subscriptions,
              (select count(*) from public.notification_queue where sent_at is null and failed_at is null)::int as pending`,
    ]);
    expect(left!.rows[0]).toEqual({ jobs: 0, subscriptions: 0, pending: 0 });
  });
});

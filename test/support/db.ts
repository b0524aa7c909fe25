/**
 * A fresh database per test file, copied from the migrated template that `npm test` prepared on its throwaway
 * cluster. Copying a template takes milliseconds, so files never share rows.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { ROOT } from "../../core/database/migrate.ts";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.NEXUS_TEST_ADMIN_URL;
  if (!url) throw new Error("NEXUS_TEST_ADMIN_URL is not set: run the tests with `npm test`, which starts the database");
  return url;
}

export async function adminQuery<T extends pg.QueryResultRow = any>(sql: string, values: unknown[] = [], database?: string) {
  const url = new URL(adminUrl());
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await client.query<T>(sql, values);
  } finally {
    await client.end();
  }
}

/**
 * Drop a test database once nothing is connected to it. pg.Pool's end() resolves as soon as it has asked its
 * clients to end, not once their backends are gone; a `drop … with (force)` meanwhile terminates a backend still
 * closing, whose FATAL ("terminating connection due to administrator command") reaches a client that has no
 * listener left: an uncaught error in the test process, after the file's tests had passed (CI saw it). So wait
 * for the connections to go, 5 s at most; what is still connected then is a leak, and force ends it.
 */
async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    const deadline = Date.now() + 5000;
    const connected = async () =>
      (await client.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = $1", [name])).rows[0]!.n;
    let open = await connected();
    while (open > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      open = await connected();
    }
    if (open > 0) console.warn(`# test database ${name}: ${open} connection(s) still open after 5 s, ended by the drop (a leak)`);
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `nexus_t_${randomBytes(5).toString("hex")}`;
  const template = options.empty ? "template0" : process.env.NEXUS_TEST_TEMPLATE ?? "nexus_template";
  await adminQuery(`create database ${name} template ${template}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => dropDatabase(name),
  };
}

/**
 * nexus_authenticator's test password. Roles belong to the whole cluster, so every test file that lets it log in
 * sets this same password: files running side by side never lock each other's logins out.
 */
export const AUTHENTICATOR_PASSWORD = "least-privilege-login-password";

/** The same database, logged in as the API's login role (after allowAuthenticatorLogin). */
export function authenticatorUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = "nexus_authenticator";
  parsed.password = AUTHENTICATOR_PASSWORD;
  return parsed.toString();
}

/** The operator's step (docs/HARDENING.md; docker-compose's migrate service runs it too): `npm run nexus -- db login-password`. */
export function allowAuthenticatorLogin(ownerUrl: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), "db", "login-password"], {
    env: { PATH: process.env.PATH, DATABASE_URL: authenticatorUrl(ownerUrl), DATABASE_OWNER_URL: ownerUrl, JWT_SECRET: "x".repeat(32), ...env, NEXUS_AUTHENTICATOR_PASSWORD: AUTHENTICATOR_PASSWORD },
    encoding: "utf8",
  });
}

/**
 * The server and the worker refuse to start on a database whose migrations are not this release's (M5): one
 * behind (a release deployed without `db migrate`: the old rules in SQL, /readyz ready) or ahead (an older
 * release started on a newer schema). As production runs them, logged in as nexus_authenticator, which may not
 * read the dbmate schema; and in development, which migrates first.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDefinitions, migrate, rollback, ROOT } from "../../core/database/migrate.ts";
import { APPLIED_MIGRATIONS_VERSION } from "../../core/database/schema.ts";
import { freePort } from "../../core/net.ts";
import { spawnNode } from "../support/child.ts";
import { allowAuthenticatorLogin, authenticatorUrl, createTestDatabase, type TestDatabase } from "../support/db.ts";
import { productionEnv, startNexusProcess } from "../support/nexus-process.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

let db: TestDatabase;
let owner: pg.Pool;
let production: Record<string, string>;
const files = readdirSync(path.join(ROOT, "db/migrations")).filter((f) => f.endsWith(".sql")).sort();
const readsLedger = files.findIndex((f) => f.startsWith(`${APPLIED_MIGRATIONS_VERSION}_`));
const second = files.at(-2)!;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Pool({ connectionString: db.url, max: 1 });
  expect(allowAuthenticatorLogin(db.url).stderr).toBe("");
  production = { ...productionEnv(authenticatorUrl(db.url), "schemacheck"), PATH: process.env.PATH! };
});
afterAll(async () => {
  await owner?.end();
  await db?.drop();
});

/** The exit code and stderr of a start that should be refused; one that starts instead is stopped after 20 s. */
async function refused(args: string[], env = production) {
  const child = spawnNode("main.ts", args, { env: { ...env, PORT: String(await freePort()), LOG_LEVEL: "info" } });
  const timer = setTimeout(() => void child.stop("SIGKILL"), 20_000);
  const code = await child.exited;
  clearTimeout(timer);
  return { code, stderr: child.stderr() };
}

describe("start-up refuses a database whose migrations are not this release's", () => {
  it("current: the production server starts", async () => {
    const server = await startNexusProcess(production, ["--server"]);
    await server.stop();
  });

  it("another release's functions and policies (a rollback's first step without its second): refused until this release's are applied", async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), "nexus-other-release-"));
    try {
      cpSync(path.join(ROOT, "db/functions"), path.join(other, "db/functions"), { recursive: true });
      cpSync(path.join(ROOT, "db/policies"), path.join(other, "db/policies"), { recursive: true });
      writeFileSync(path.join(other, "db/functions/99_other.sql"), "create or replace function nexus_private.other_release() returns int language sql as 'select 1';");
      await applyDefinitions(db.url, other);
      const line =
        "the database's functions and policies are not this release's (another release's were applied, or none since this release's migrate): " +
        "run npm run nexus -- db definitions with this release (docs/operations.md, 8.1)\n";
      expect(await refused(["--server"])).toEqual({ code: 1, stderr: line });
      expect(await refused(["--worker"])).toEqual({ code: 1, stderr: line });
      await applyDefinitions(db.url);
      const server = await startNexusProcess(production, ["--server"]);
      await server.stop();
    } finally {
      rmSync(other, { recursive: true, force: true });
      await applyDefinitions(db.url);
    }
  }, 90_000);

  it("one migration behind: server and worker exit 1 with one line naming it and npm run db:migrate", async () => {
    await owner.query("delete from dbmate.schema_migrations where version = $1", [second.split("_")[0]]);
    try {
      const line = `the database lacks migration ${second} of this release: run npm run db:migrate (as the schema owner) before starting\n`;
      expect(await refused(["--server"])).toEqual({ code: 1, stderr: line });
      expect(await refused(["--worker"])).toEqual({ code: 1, stderr: line });
    } finally {
      await owner.query("insert into dbmate.schema_migrations (version) values ($1)", [second.split("_")[0]]);
    }
  });

  it("rolled back past the migration nexus_authenticator reads the ledger through: the line names that one", async () => {
    for (let i = files.length; i > readsLedger; i--) await rollback(db.url);
    try {
      expect(await refused(["--server"])).toEqual({
        code: 1,
        stderr: `the database lacks migration ${files[readsLedger]} of this release (and perhaps more): run npm run db:migrate (as the schema owner) before starting\n`,
      });
    } finally {
      await migrate(db.url);
    }
  }, 60_000);

  it("ahead (a newer release's migration): production and development both refuse, naming it and §8.1", async () => {
    await owner.query("insert into dbmate.schema_migrations (version) values ('20991231000000')");
    try {
      const line =
        "the database has a migration this release does not know: 20991231000000 (a newer release's): deploy that release, " +
        "or roll it back with its code and apply this release's definitions (docs/operations.md, 8.1)\n";
      expect(await refused(["--server"])).toEqual({ code: 1, stderr: line });
      expect(await refused(["--worker"])).toEqual({ code: 1, stderr: line });
      // Development (not production) migrates first, as the owner; the newer migration is still unknown to it.
      const development = { PATH: process.env.PATH!, DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET };
      expect(await refused([], development)).toEqual({ code: 1, stderr: line });
    } finally {
      await owner.query("delete from dbmate.schema_migrations where version = '20991231000000'");
    }
  }, 60_000);
});

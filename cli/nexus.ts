/**
 * `npm run nexus -- <command>`: the operators' command line.
 *
 *   user add --email E --password P --callsign C [--rank R] create a member (prints the new user id)
 *   user rank --callsign C --rank R                         set a member's rank as an operator
 *   db migrate | rollback | status                         schema management
 *   db definitions [--from DIR]                            re-apply db/functions, db/policies (of DIR's release)
 *   db url                                                 print the database's URL (embedded: stable across starts)
 *   db psql [psql options…]                                psql on that database (the runbook's SQL-editor habit)
 *   db seed                                                development data (refused when NODE_ENV=production)
 *   user revoke --email E                                   end every session of a member (sign-out everywhere)
 *   keys                                                   print an anon key (role anon JWT) for supabase-js
 *   import supabase --from URL [--dry-run]                 bring an old Supabase database over (cli/import-supabase.ts)
 *   jobs [--failed] [--retry ID…] [--discard ID…]           the job queue (cli/jobs.ts)
 *
 * It talks to DATABASE_URL (`db …` to DATABASE_OWNER_URL when set: migrations need the schema owner), or to the
 * embedded database in NEXUS_DATA_DIR (starting it if `npm start` is not running).
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { importSupabase } from "./import-supabase.ts";
import { JOBS_USAGE, JobsUsageError, parseJobsArgs, runJobs } from "./jobs.ts";
import { signJwt } from "../core/jwt.ts";
import { OneLineError } from "../core/fatal.ts";
import { applyDefinitions, migrate, ROOT, rollback, status } from "../core/database/migrate.ts";
import { configBeforeStart, resolveDatabaseForCommand } from "../core/database/resolve.ts";
import { commandClient, endCommand, handleCommandExits, withInteractiveChild } from "../core/command.ts";
import { embeddedUrl, loadDevSecrets } from "../core/database/embedded.ts";
import { toApiError } from "../core/errors.ts";
import { createLogger } from "../core/log.ts";

const USAGE = `usage: npm run nexus -- <command>
  user add --email E --password P --callsign C [--rank R]   create a member, print the new user id
  user rank --callsign C --rank R                           set a member's rank (operator)
  user revoke --email E                                     end every session of a member
  keys                                                      print an anon key for supabase-js's createClient
  import supabase --from URL [--dry-run]                    bring an old Supabase database over (idempotent)
  db migrate | db rollback | db status                      schema management
  db url                                                    print the database URL (npm run -s nexus -- db url)
  db psql [psql options…]                                   open psql on the database (DATABASE_URL or embedded)
  db seed                                                   development members, squad and nets (not in production)
  db login-password                                         let nexus_authenticator log in with $NEXUS_AUTHENTICATOR_PASSWORD (16+ characters)
  db definitions [--from DIR]                               re-apply db/functions and db/policies (DIR: another release's checkout)
${JOBS_USAGE}
  help, <command> --help                                    this list
and: npm run doctor                                         check a deployment (docs/operations.md#npm-run-doctor)`;

export class UsageError extends Error {}

/** Run SQL as the service role (operators' tools bypass RLS but still go through the rule functions). */
async function asService<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = commandClient({ connectionString: url });
  await client.connect();
  try {
    await client.query("begin");
    await client.query("set local role service_role");
    await client.query(`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`);
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

function required(values: Record<string, string | boolean | undefined>, ...names: string[]): string[] {
  return names.map((name) => {
    const value = values[name];
    if (typeof value !== "string" || value === "") throw new UsageError(`missing --${name}\n${USAGE}`);
    return value;
  });
}

async function jobs(argv: string[]): Promise<number> {
  let request;
  try {
    request = parseJobsArgs(argv);
  } catch (error) {
    if (error instanceof JobsUsageError) throw new UsageError(`${error.message}\n${USAGE}`);
    throw error;
  }
  const db = await resolveDatabaseForCommand(createLogger(process.env.LOG_LEVEL ?? "warn"));
  try {
    const { output, code } = await runJobs(request, (fn) => asService(db.url, fn));
    process.stdout.write(output);
    return code;
  } finally {
    await db.stop();
  }
}

/** The database's URL without starting anything: DATABASE_URL, or the embedded one's (its port is kept). */
async function databaseUrl(): Promise<string> {
  const config = configBeforeStart();
  return config.databaseUrl ?? embeddedUrl(await loadDevSecrets(path.resolve(config.dataDir)));
}

/** psql on the configured database, with the operator's own options; the embedded one is started if need be. */
async function psql(args: string[]): Promise<number> {
  const db = await resolveDatabaseForCommand(createLogger(process.env.LOG_LEVEL ?? "warn"));
  try {
    // Ctrl-C is psql's (it cancels the query); this process waits for psql to end, then stops the database.
    return await withInteractiveChild(
      () =>
        new Promise<number>((resolve, reject) => {
          const child = spawn("psql", [db.url, ...args], { stdio: "inherit" });
          child.on("error", (error: NodeJS.ErrnoException) =>
            reject(error.code === "ENOENT" ? new OneLineError("psql is not installed: apt-get install postgresql-client, or point any client at npm run -s nexus -- db url") : error),
          );
          child.on("close", (status) => resolve(status ?? 1));
        }),
    );
  } finally {
    await db.stop();
  }
}

/** The options of every command but `jobs` and `db psql`; an unknown one is a usage error (exit 2). */
function parseOptions(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        email: { type: "string" },
        password: { type: "string" },
        callsign: { type: "string" },
        rank: { type: "string" },
        from: { type: "string" },
        "dry-run": { type: "boolean" },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<number> {
  // `help`, and --help or -h after any command, print the usage (exit 0); `db psql --help` is psql's own.
  if (argv[0] === "help" || (!(argv[0] === "db" && argv[1] === "psql") && argv.some((a) => a === "--help" || a === "-h"))) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  // `jobs` takes lists of ids (--retry 12 13 14), and `db psql` passes psql's own options on, which parseArgs
  // below does not.
  if (argv[0] === "jobs") return jobs(argv.slice(1));
  if (argv[0] === "db" && argv[1] === "psql") return psql(argv.slice(2));
  if (argv[0] === "db" && argv[1] === "url" && argv.length === 2) {
    process.stdout.write(`${await databaseUrl()}\n`);
    return 0;
  }
  const { values, positionals } = parseOptions(argv);
  const [group, action] = positionals;
  if (!group) {
    process.stdout.write(USAGE + "\n");
    return 2;
  }
  if (group === "db" && action === "seed" && process.env.NODE_ENV === "production") {
    throw new UsageError("db seed refused: NODE_ENV=production (the seed creates accounts with published passwords)");
  }
  const log = createLogger(process.env.LOG_LEVEL ?? "warn");
  const db = await resolveDatabaseForCommand(log);
  try {
    if (group === "user" && action === "add") {
      const [email, password, callsign] = required(values, "email", "password", "callsign");
      const id = await asService(db.url, async (client) => {
        const { rows } = await client.query<{ id: string }>(
          "select nexus_private.create_user($1, $2, $3, public.parse_rank($4)) as id",
          [email, password, callsign, values.rank ?? "VAGRANT"],
        );
        return rows[0]!.id;
      });
      process.stdout.write(`${id}\n`);
      return 0;
    }
    if (group === "user" && action === "rank") {
      const [callsign, rank] = required(values, "callsign", "rank");
      const row = await asService(db.url, async (client) => {
        const { rows } = await client.query(
          `select p.id, p.rank from public.set_member_rank(
             (select id from public.profiles where lower(callsign) = lower($1)), public.parse_rank($2)) p`,
          [callsign, rank],
        );
        return rows[0];
      });
      process.stdout.write(`${row.id} ${row.rank}\n`);
      return 0;
    }
    if (group === "user" && action === "revoke") {
      const [email] = required(values, "email");
      const ended = await asService(db.url, async (client) => {
        const { rows } = await client.query<{ ended: number }>("select nexus_private.revoke_member_sessions($1) as ended", [email]);
        return rows[0]!.ended;
      });
      process.stdout.write(`${ended} session${ended === 1 ? "" : "s"} revoked\n`);
      return 0;
    }
    if (group === "keys") {
      // The anon key a Supabase project hands its frontend: a JWT with role anon, long-lived like Supabase's. It
      // grants nothing a request without a token would not have.
      const anon = await signJwt(db.config.jwt.secret, { role: "anon" }, 10 * 365 * 24 * 3600);
      process.stdout.write(`anon ${anon}\n`);
      return 0;
    }
    if (group === "import" && action === "supabase") {
      const [from] = required(values, "from") as [string];
      process.stdout.write(await importSupabase({ from, dryRun: values["dry-run"] === true, asService: (fn) => asService(db.url, fn) }));
      return 0;
    }
    if (group === "db") {
      if (action === "migrate") {
        process.stdout.write(await migrate(db.ownerUrl));
        process.stdout.write("functions and policies applied\n");
        return 0;
      }
      if (action === "rollback") {
        process.stdout.write(await rollback(db.ownerUrl));
        return 0;
      }
      if (action === "status") {
        process.stdout.write(await status(db.ownerUrl));
        return 0;
      }
      if (action === "seed") {
        if (db.config.isProduction) throw new UsageError("db seed refused: production configuration");
        const sql = await readFile(path.join(ROOT, "db/seed/development.sql"), "utf8");
        const accounts = await asService(db.url, async (client) => {
          const results = (await client.query(sql)) as unknown as pg.QueryResult[];
          return results.at(-1)!.rows as { callsign: string; email: string; rank: string; password: string }[];
        });
        process.stdout.write("development seed applied; accounts (development only):\n");
        for (const a of accounts) process.stdout.write(`  ${a.rank.padEnd(10)} ${a.callsign.padEnd(11)} ${a.email.padEnd(26)} ${a.password}\n`);
        return 0;
      }
      if (action === "login-password") {
        // The server and worker log in as nexus_authenticator (docs/HARDENING.md). The password comes from the
        // environment, never the command line (which other users of the host can read in the process list).
        const password = process.env.NEXUS_AUTHENTICATOR_PASSWORD ?? "";
        if (password.length < 16) throw new UsageError("db login-password: set NEXUS_AUTHENTICATOR_PASSWORD (at least 16 characters)");
        const client = commandClient({ connectionString: db.ownerUrl });
        await client.connect();
        try {
          await client.query(`alter role nexus_authenticator with login password ${client.escapeLiteral(password)}`);
        } catch (error) {
          if ((error as { code?: string }).code !== "42501") throw error;
          // PostgreSQL 16+ refuses a CREATEROLE owner that has no ADMIN OPTION on the role (15 did not ask for it).
          // A plain Error, no cause: the pg error itself would print as the API's "INSUFFICIENT_CLEARANCE: your rank does not allow this".
          throw new Error(
            `db login-password: ${(error as Error).message}: the owner needs CREATEROLE and, on PostgreSQL 16+, ADMIN OPTION on nexus_authenticator (docs/operations.md, "Migrations and roles")`,
          );
        } finally {
          await client.end();
        }
        process.stdout.write("nexus_authenticator may log in with NEXUS_AUTHENTICATOR_PASSWORD\n");
        return 0;
      }
      if (action === "definitions") {
        // --from DIR: another release's checkout (a rollback applies the older release's definitions with this
        // release's code, which drops the overloads and policies those files no longer define; operations.md §8.1).
        const root = typeof values.from === "string" ? path.resolve(values.from) : ROOT;
        const applied = await applyDefinitions(db.ownerUrl, root);
        for (const statement of applied.dropped) process.stdout.write(`${statement}\n`);
        process.stdout.write(`${applied.files} function and policy files applied\n`);
        return 0;
      }
    }
    throw new UsageError(`unknown command: ${positionals.join(" ")}\n${USAGE}`);
  } finally {
    await db.stop();
  }
}

// Ctrl-C, SIGTERM or a closed pipe stops an embedded Postgres this command started (core/command.ts).
handleCommandExits();
main(process.argv.slice(2)).then(
  (code) => endCommand(code),
  (error) => {
    if (error instanceof UsageError || error instanceof OneLineError) {
      process.stderr.write(`${error.message}\n`);
      return endCommand(2);
    }
    const apiError = toApiError(error);
    process.stderr.write(
      apiError.code === "INTERNAL" ? `error: ${(error as Error).message}\n` : `${apiError.code}: ${apiError.message}\n`,
    );
    return endCommand(1);
  },
);

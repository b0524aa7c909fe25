/**
 * `npm test`: checks the machine has what the tests need (scripts/test-tools.ts), starts a throwaway real
 * PostgreSQL (with pgTAP), migrates a template database, runs the pgTAP files
 * in db/tests with pg_prove, then vitest (each test file gets its own copy of the template), and prints one
 * closing line: "N passed, N failed".
 */
import { spawn } from "node:child_process";
import { readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { migrate, ROOT } from "../core/database/migrate.ts";
import { startCluster } from "../test/support/cluster.ts";
import { ensureTestTools, MissingTools } from "./test-tools.ts";
import { pgTapDigest, vitestDigest } from "./test-digest.ts";

const TEMPLATE = "nexus_template";
const only = process.argv[2]; // "pgtap" or "vitest" to run one suite
const extra = process.argv.slice(3);

async function sqlTestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".sql"))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !f.includes(`${path.sep}helpers${path.sep}`))
    .sort();
}

/** Runs `cmd`, passing its output through as it comes, and keeps both streams for the summary. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, out, err }));
  });
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function main() {
  const started = Date.now();
  ensureTestTools(only === "pgtap" || only === "vitest" ? only : "all", (line) => console.log(line));
  const cluster = await startCluster();
  let passed = 0;
  let failed = 0;
  const digest: string[] = [];
  try {
    await adminQuery(cluster.adminUrl(), `create database ${TEMPLATE}`);
    await migrate(cluster.adminUrl(TEMPLATE));
    console.log(`# database migrated on a throwaway PostgreSQL at 127.0.0.1:${cluster.port}`);

    if (only !== "vitest") {
      await adminQuery(cluster.adminUrl(), `create database nexus_pgtap template ${TEMPLATE}`);
      // pgTAP in its own schema: our migrations revoke EXECUTE from PUBLIC on functions created in public.
      await adminQuery(
        cluster.adminUrl("nexus_pgtap"),
        `create schema tap; create extension pgtap schema tap;
         grant usage on schema tap to public; grant execute on all functions in schema tap to public;
         alter database nexus_pgtap set search_path = "$user", public, tap;
         -- the push service pgTAP subscriptions name (db/tests/helpers: tests.subscribe), as an operator would list theirs
         alter database nexus_pgtap set nexus.push_allowed_hosts = 'push.tests.invalid'`,
      );
      await adminQuery(cluster.adminUrl("nexus_pgtap"), await readFile(path.join(ROOT, "db/tests/helpers/tests_schema.sql"), "utf8"));
      const files = extra.length && only === "pgtap" ? extra : await sqlTestFiles(path.join(ROOT, "db/tests"));
      const result = await run("pg_prove", ["-h", "127.0.0.1", "-p", String(cluster.port), "-U", "postgres", "-d", "nexus_pgtap", "-f", ...files]);
      const total = Number(/Tests=(\d+)/.exec(result.out)?.[1] ?? 0);
      const failedSubtests = [...result.out.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((n, m) => n + Number(m[1]), 0);
      const failedRun = [...result.out.matchAll(/Tests: \d+ Failed: (\d+)\)/g)].reduce((n, m) => n + Number(m[1]), 0);
      const badFiles = result.code !== 0 && failedSubtests === 0 ? 1 : 0;
      if (result.code !== 0) digest.push(...pgTapDigest(result.out));
      passed += Math.max(0, total - failedRun);
      failed += failedSubtests + badFiles;
    }

    if (only !== "pgtap") {
      const report = path.join(os.tmpdir(), `nexus-vitest-${process.pid}.json`);
      const env = {
        ...process.env,
        NEXUS_TEST_ADMIN_URL: cluster.adminUrl(),
        NEXUS_TEST_TEMPLATE: TEMPLATE,
        LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
      };
      const vitest = path.join(ROOT, "node_modules/vitest/vitest.mjs");
      const result = await run(
        process.execPath,
        [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...(only === "vitest" ? extra : [])],
        env,
      );
      let json: any;
      try {
        json = JSON.parse(await readFile(report, "utf8"));
        passed += json.numPassedTests;
        failed += json.numFailedTests + (result.code !== 0 && json.numFailedTests === 0 ? 1 : 0);
      } catch {
        failed += 1;
      }
      if (result.code !== 0) digest.push(...vitestDigest(json, result.out + result.err, ROOT));
      await rm(report, { force: true });
    }
  } finally {
    cluster.stop();
  }
  for (const line of digest) console.log(line);
  console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((error) => {
  if (error instanceof MissingTools) {
    console.error(error.message);
  } else {
    // One line, not a stack: what failed before any test could run (the throwaway database, the migrations).
    console.error(`npm test stopped: ${(error as Error).message.split("\n")[0]}`);
    console.log("0 passed, 1 failed");
  }
  process.exit(1);
});

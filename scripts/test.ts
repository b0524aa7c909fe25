/**
 * `npm test`: checks the machine has what the tests need (scripts/test-tools.ts), starts a throwaway real
 * PostgreSQL (with pgTAP), migrates a template database, runs the pgTAP files
 * in db/tests with pg_prove, again on the PostgreSQL that `npm start` embeds, then vitest (each test file gets its
 * own copy of the template), and prints one closing line: "N passed, N failed".
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { migrate, ROOT } from "../core/database/migrate.ts";
import { embeddedBinDir } from "../core/database/embedded.ts";
import { createLogger } from "../core/log.ts";
import { startCluster, type Cluster } from "../test/support/cluster.ts";
import { ensureTestTools, MissingTools, pgtapDir } from "./test-tools.ts";
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

interface PgTapResult {
  passed: number;
  failed: number;
  digest: string[];
}

/** The pgTAP files on `cluster` (its TEMPLATE database migrated), with pg_prove; digest lines start with `label`. */
async function pgTap(cluster: Cluster, files: string[], label: string): Promise<PgTapResult> {
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
  if (label) console.log(`# ${label}pgTAP`);
  const result = await run("pg_prove", ["-h", "127.0.0.1", "-p", String(cluster.port), "-U", "postgres", "-d", "nexus_pgtap", "-f", ...files]);
  const total = Number(/Tests=(\d+)/.exec(result.out)?.[1] ?? 0);
  const failedSubtests = [...result.out.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((n, m) => n + Number(m[1]), 0);
  const failedRun = [...result.out.matchAll(/Tests: \d+ Failed: (\d+)\)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const badFiles = result.code !== 0 && failedSubtests === 0 ? 1 : 0;
  return {
    passed: Math.max(0, total - failedRun),
    failed: failedSubtests + badFiles,
    digest: result.code !== 0 ? pgTapDigest(result.out).map((line) => line.replace(/^# /, `# ${label}`)) : [],
  };
}

/**
 * A throwaway cluster of the embedded PostgreSQL, with Debian's pgTAP (plain SQL, the same on every version) in a
 * folder of its own that the cluster's extension_control_path names (PostgreSQL 18+).
 */
async function startEmbeddedCluster(): Promise<{ cluster: Cluster; version: string; extensions: string }> {
  const bin = await embeddedBinDir(createLogger("warn"));
  const version = /\d+/.exec(execFileSync(path.join(bin, "postgres"), ["--version"], { encoding: "utf8" }))![0];
  const debian = pgtapDir()!;
  const extensions = await mkdtemp(path.join(os.tmpdir(), "nexus-pgtap-"));
  await mkdir(path.join(extensions, "extension"));
  for (const file of await readdir(debian)) {
    if (file.startsWith("pgtap")) await copyFile(path.join(debian, file), path.join(extensions, "extension", file));
  }
  await chmod(extensions, 0o755);
  await chmod(path.join(extensions, "extension"), 0o755);
  const cluster = await startCluster({ bin, settings: [`extension_control_path='$system:${extensions}'`] });
  return { cluster, version, extensions };
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
      const files = extra.length && only === "pgtap" ? extra : await sqlTestFiles(path.join(ROOT, "db/tests"));
      const debian = await pgTap(cluster, files, "");
      // Again on the PostgreSQL that `npm start` embeds (18 where CI's is 15): the rules must hold on the server a
      // newcomer runs first. Its own cluster, migrated from scratch; Debian's pgTAP SQL through extension_control_path.
      const embedded = await startEmbeddedCluster();
      let onEmbedded: PgTapResult;
      try {
        await adminQuery(embedded.cluster.adminUrl(), `create database ${TEMPLATE}`);
        await migrate(embedded.cluster.adminUrl(TEMPLATE));
        onEmbedded = await pgTap(embedded.cluster, files, `[PostgreSQL ${embedded.version}] `);
      } finally {
        embedded.cluster.stop();
        await rm(embedded.extensions, { recursive: true, force: true });
      }
      for (const result of [debian, onEmbedded]) {
        passed += result.passed;
        failed += result.failed;
        digest.push(...result.digest);
      }
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

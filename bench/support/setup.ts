/** What every benchmark sets up the same way: a migrated database on a throwaway cluster, and child processes. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { migrate, ROOT } from "../../core/database/migrate.ts";
import type { Cluster } from "../../test/support/cluster.ts";

/** Create the `bench` database on the cluster, migrate it, and return its URL. */
export async function benchDatabase(cluster: Cluster): Promise<string> {
  const admin = new pg.Client({ connectionString: cluster.adminUrl() });
  await admin.connect();
  await admin.query("create database bench");
  await admin.end();
  const url = cluster.adminUrl("bench");
  await migrate(url);
  return url;
}

/**
 * Run a script of this repository in its own Node process (stdout ignored, stderr shown).
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each such process there (open it in Chrome DevTools).
 */
export function startChild(script: string, args: string[], env: Record<string, string>): ChildProcess {
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  return spawn(process.execPath, [...profile, path.join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

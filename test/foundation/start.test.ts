import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processAlive } from "../../core/database/embedded.ts";
import { ROOT } from "../../core/database/migrate.ts";
import { freePort } from "../../core/net.ts";
import { spawnNode, type NodeChild } from "../support/child.ts";
import { until } from "../support/eventually.ts";
import { graphql } from "../support/http.ts";

/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, no secrets. The embedded Postgres starts in the data
 * folder, and a member registered before a restart can sign in after it.
 */
const dataDir = mkdtempSync(path.join(os.tmpdir(), "nexus-start-"));
chmodSync(dataDir, 0o755); // as root, Postgres runs as its own user and must reach its folder
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The environment of a newcomer's `npm start` or command on the data folder `dir`. */
function newcomerEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXUS_DATA_DIR: dir, LOG_LEVEL: "info", ...extra };
  delete env.DATABASE_URL;
  delete env.JWT_SECRET;
  delete env.NODE_ENV;
  return env;
}

async function start(port: number, dir = dataDir): Promise<NodeChild> {
  const nexus = spawnNode("main.ts", [], { env: newcomerEnv(dir, { PORT: String(port) }), detached: true });
  await nexus.waitFor("GraphQL:", 90_000);
  return nexus;
}

const gql = async (port: number, query: string, variables: Record<string, unknown>) =>
  (await graphql(`http://127.0.0.1:${port}`, query, variables)).body as any;

describe("npm start with no configuration", () => {
  it("serves GraphQL on an embedded Postgres that keeps members across restarts", async () => {
    const port = await freePort();
    const first = await start(port);
    expect(first.output()).toContain(`GraphQL:   http://localhost:${port}/graphql`);
    expect(first.output()).toContain(`Webhook:   http://localhost:${port}/livekit/webhook`);
    const reg = await gql(port, `mutation($i: RegisterInput!) { register(input: $i) { userId } }`, {
      i: { email: "first@example.org", password: "persistent-1", callsign: "Persist" },
    });
    expect(reg.errors).toBeUndefined();
    // Ctrl-C: the process group is interrupted, as a terminal does. Connections close before Postgres stops, so
    // nothing is logged as lost, and nothing at warning level or above.
    expect(await first.interrupt()).toBe(0);
    const shutdown = first.output().slice(first.output().indexOf('"msg":"shutting down"'));
    expect(shutdown.split("\n").filter((l) => /"level":(4|5|6)0/.test(l))).toEqual([]);
    expect(existsSync(path.join(dataDir, "pg/postmaster.pid")), "the embedded Postgres stopped with it").toBe(false);

    const second = await start(port);
    const auth = await gql(port, `mutation($i: AuthenticateInput!) { authenticate(input: $i) { userId jwtToken } }`, {
      i: { email: "first@example.org", password: "persistent-1" },
    });
    expect(auth.data.authenticate.userId).toBe(reg.data.register.userId);
    expect(second.output()).not.toContain("initialising embedded postgres");
    expect(await second.stop()).toBe(0);
  }, 180_000);
});

/** The postmaster running on a data folder's embedded Postgres, if any (its postmaster.pid names a live process). */
function postmaster(dir: string): number | undefined {
  const file = path.join(dir, "pg/postmaster.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  return processAlive(pid) ? pid : undefined;
}

/** A folder of its own for each case below; whatever Postgres a failing case leaves behind is stopped here. */
const folders: string[] = [];
const owners: ChildProcess[] = [];
function folder(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "nexus-lifetime-"));
  chmodSync(dir, 0o755);
  folders.push(dir);
  return dir;
}
afterAll(async () => {
  for (const owner of owners) if (owner.exitCode === null && owner.signalCode === null) owner.kill("SIGKILL");
  for (const dir of folders) {
    const pid = postmaster(dir);
    if (pid !== undefined) process.kill(pid, "SIGQUIT");
    await until(`the postmaster of ${dir} gone`, () => postmaster(dir) === undefined, { timeoutMs: 20_000 }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("the embedded Postgres outlives no command that started it", () => {
  it("the doctor piped into a reader that closes early (| head -3): exits quietly, its Postgres stopped", async () => {
    const dir = folder();
    // A server that takes the connection and never answers: the doctor still has lines to print when the reader has gone.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const nexusUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      const doctor = spawnNode("cli/doctor.ts", [], { env: newcomerEnv(dir, { NEXUS_URL: nexusUrl }) });
      await doctor.waitFor("Environment", 90_000);
      const pid = postmaster(dir);
      expect(pid, "the doctor started the embedded Postgres").toBeDefined();
      doctor.child.stdout!.destroy(); // `head` has its three lines and exits
      expect(await doctor.exited).toBe(0);
      expect(doctor.stderr()).toBe("");
      expect(postmaster(dir), "no postmaster on the data folder").toBeUndefined();
      expect(processAlive(pid!), "the doctor's Postgres is not running").toBe(false);
    } finally {
      silent.close();
    }
  }, 120_000);

  it("npm start reuses a Postgres a live process owns and leaves it; one whose owner died it adopts and stops on Ctrl-C", async () => {
    const dir = folder();
    // A command that starts the embedded Postgres and is then killed (SIGKILL: no handler of its own runs).
    const script = `import { startEmbedded } from ${JSON.stringify(path.join(ROOT, "core/database/embedded.ts"))};
      import { createLogger } from ${JSON.stringify(path.join(ROOT, "core/log.ts"))};
      await startEmbedded(${JSON.stringify(dir)}, createLogger("silent"));
      process.stdout.write("started\\n");
      setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    owners.push(owner);
    await new Promise<void>((resolve, reject) => {
      owner.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("started") && resolve());
      owner.once("exit", (code) => reject(new Error(`the owner exited ${code}`)));
    });
    const pid = postmaster(dir);
    expect(pid).toBeDefined();

    const port = await freePort();
    const beside = await start(port, dir);
    expect(beside.output()).toContain("embedded postgres already running on this data folder; reusing it");
    expect(await beside.interrupt(), beside.output()).toBe(0);
    expect(postmaster(dir), "the live owner's Postgres is left running").toBe(pid);

    owner.kill("SIGKILL");
    await new Promise((resolve) => owner.once("exit", resolve));
    expect(postmaster(dir), "the orphan").toBe(pid);
    const adopter = await start(port, dir);
    expect(adopter.output()).toContain("adopting it");
    expect(await adopter.interrupt(), adopter.output()).toBe(0);
    expect(postmaster(dir), "the adopted Postgres stopped with npm start").toBeUndefined();
    expect(existsSync(path.join(dir, "postgres.owner")), "no owner left named").toBe(false);
  }, 180_000);
});

describe("Ctrl-C while npm start is still starting", () => {
  it("during the first start's migrations: the step ends, nothing after it starts, the embedded Postgres stops; the next start works", async () => {
    const dir = folder();
    const port = await freePort();
    const nexus = spawnNode("main.ts", [], { env: newcomerEnv(dir, { PORT: String(port) }), detached: true });
    // The migrations of a fresh database take about a second after this line.
    await nexus.waitFor("embedded postgres started", 90_000);
    expect(postmaster(dir), "the embedded Postgres is up").toBeDefined();
    expect(await nexus.interrupt(), nexus.output()).toBe(0);
    expect(nexus.output()).toContain("shutting down after the start-up step in progress");
    expect(nexus.output()).toContain('"msg":"stopped"');
    expect(nexus.output(), "nothing started after the signal").not.toContain("server listening");
    expect(nexus.output().split("\n").filter((l) => /"level":(5|6)0/.test(l)), "no error or fatal line").toEqual([]);
    expect(postmaster(dir), "no Postgres left for the next start to adopt").toBeUndefined();

    const next = await start(port, dir);
    expect(next.output()).not.toContain("adopting it");
    expect(await next.interrupt(), next.output()).toBe(0);
    expect(postmaster(dir)).toBeUndefined();
  }, 180_000);
});

describe("two processes starting on one fresh data folder at once (start:server and start:worker together)", () => {
  it("take turns: one initialises and starts Postgres, the other waits and reuses it, with the same secrets", async () => {
    const dir = folder();
    const script = `import { startEmbedded } from ${JSON.stringify(path.join(ROOT, "core/database/embedded.ts"))};
      import { createLogger } from ${JSON.stringify(path.join(ROOT, "core/log.ts"))};
      import pg from "pg";
      const db = await startEmbedded(${JSON.stringify(dir)}, createLogger("info"));
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query("select 1");
      await client.end();
      process.stdout.write("ready " + new URL(db.url).port + "\\n");
      setInterval(() => {}, 1000);`;
    const spawnOne = () => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
      owners.push(child);
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
      const ready = new Promise<string>((resolve, reject) => {
        child.stdout.on("data", () => {
          const port = /ready (\d+)/.exec(out)?.[1];
          if (port) resolve(port);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code} before it was ready:\n${out}`)));
      });
      return { child, ready, output: () => out };
    };
    const [a, b] = [spawnOne(), spawnOne()];
    const ports = await Promise.all([a.ready, b.ready]);
    expect(ports[0]).toBe(ports[1]);
    const started = [a, b].filter((p) => p.output().includes('"msg":"embedded postgres started"'));
    const reused = [a, b].filter((p) => p.output().includes("already running on this data folder; reusing it"));
    expect([started.length, reused.length], a.output() + b.output()).toEqual([1, 1]);
    expect(existsSync(path.join(dir, "postgres.starting")), "the start lock is given back").toBe(false);
    expect(readFileSync(path.join(dir, "postgres.owner"), "utf8").trim()).toBe(String(started[0]!.child.pid));
  }, 180_000);
});

describe("npm start from a folder the postgres user cannot enter (a clone under /root)", () => {
  it.runIf(process.getuid?.() === 0)("keeps the database where that user can reach it, and says where", async () => {
    const locked = mkdtempSync(path.join(os.tmpdir(), "nexus-locked-")); // mode 0700, owned by root
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, NEXUS_DATA_DIR: path.join(locked, "data"), PORT: String(port), LOG_LEVEL: "info" };
    delete env.DATABASE_URL;
    delete env.JWT_SECRET;
    delete env.NODE_ENV;
    const nexus = spawnNode("main.ts", [], { env, detached: true });
    try {
      await nexus.waitFor("GraphQL:", 120_000);
      const moved = /the embedded database lives in (\S+)"/.exec(nexus.output())?.[1];
      expect(moved, "the log names where the database went").toMatch(/^\/var\/lib\/nomadnexus\/data-[0-9a-f]{16}$/);
      const answer = await gql(port, "query { __typename }", {});
      expect(answer).toEqual({ data: { __typename: "Query" } });
      expect(await nexus.interrupt()).toBe(0);
      rmSync(moved!, { recursive: true, force: true });
    } finally {
      await nexus.stop("SIGKILL");
      rmSync(locked, { recursive: true, force: true });
    }
  }, 180_000);
});

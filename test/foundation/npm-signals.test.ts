/**
 * `npm run start:server` and `npm run start:worker` stop on SIGTERM (operator trial M4). npm forwards the signal to
 * its script's shell; `sh -c "node main.ts …"` (dash) died of it without passing it on, and node kept running,
 * orphaned and still listening. The scripts `exec` node, so npm's child is node itself: SIGTERM to npm alone drains
 * node and npm exits after it. Real npm, a real database, SIGTERM to npm's pid only (as `docker stop` sends it to
 * PID 1); npm's exit waits for node's drain (checked by hand with a request held open: npm left with node).
 */
import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { freePort } from "../../core/net.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { productionEnv } from "../support/nexus-process.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every process under `pid` (npm's shell and node, or node alone), children first found first. */
function descendants(pid: number): number[] {
  const children = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

async function sigtermToNpm(script: string, ready: string): Promise<{ output: string; left: number[] }> {
  const port = await freePort();
  const npm = spawn("npm", ["run", script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...productionEnv(db.url, "npmsignals"), LOG_LEVEL: "info", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  // 'exit', not 'close': a node left running holds the pipes open.
  const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${ready}:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    npm.stdout!.on("data", onData);
    npm.stderr!.on("data", onData);
  });
  const under = descendants(npm.pid!);
  expect(under.length).toBeGreaterThan(0);
  npm.kill("SIGTERM");
  await exited;
  // Whatever npm left behind, still running a moment after it exited, is killed here and reported.
  await new Promise((r) => setTimeout(r, 500));
  const left = under.filter(alive);
  for (const pid of left) process.kill(pid, "SIGKILL");
  return { output, left };
}

describe("SIGTERM to npm run start:server / start:worker", () => {
  it("stops the server: node drains and exits, and npm exits after it", async () => {
    const { output, left } = await sigtermToNpm("start:server", '"server listening"');
    expect(left, "node main.ts --server is left running").toEqual([]);
    expect(output).toContain('"msg":"shutting down"');
    expect(output).toContain('"msg":"stopped"');
  }, 90_000);

  it("stops the worker the same way", async () => {
    const { output, left } = await sigtermToNpm("start:worker", '"worker started"');
    expect(left, "node main.ts --worker is left running").toEqual([]);
    expect(output).toContain('"msg":"stopped"');
  }, 90_000);
});

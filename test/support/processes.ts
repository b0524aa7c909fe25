/**
 * The worker (`npm run start:worker`) and the API server (`npm run start:server`) as their own OS processes, so a
 * test can run several on one database, or SIGKILL one like a crash would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../core/database/migrate.ts";
import { freePort } from "../../core/net.ts";

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServerProcess extends WorkerProcess {
  baseUrl: string;
}

/** `main.ts <role>` in a child process, once its log says `ready`; `kill` sends `defaultSignal` unless told. */
async function spawnMain(role: "--worker" | "--server", env: Record<string, string>, ready: string, defaultSignal: NodeJS.Signals): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, "main.ts"), role], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const until = Date.now() + 60_000;
  while (!out.includes(ready)) {
    if (child.exitCode !== null) throw new Error(`${role} exited ${child.exitCode}:\n${out}`);
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`${role} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    output: () => out,
    kill: (signal = defaultSignal) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      }),
  };
}

export function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  return spawnMain("--worker", { PATH: process.env.PATH!, NODE_ENV: "test", LOG_LEVEL: "info", ...env }, '"worker started"', "SIGKILL");
}

/** The API server on a free loopback port, in production mode unless NODE_ENV says otherwise. */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const server = await spawnMain("--server", { PATH: process.env.PATH!, NODE_ENV: "production", LOG_LEVEL: "info", ...env, PORT: String(port) }, '"server listening"', "SIGTERM");
  return { ...server, baseUrl: `http://127.0.0.1:${port}` };
}

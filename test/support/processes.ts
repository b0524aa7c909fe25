/** The worker as its own OS process (`npm run start:worker`), so a test can SIGKILL it like a crash would. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../core/database/migrate.ts";

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, "main.ts"), "--worker"], {
    env: { PATH: process.env.PATH, NODE_ENV: "test", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const until = Date.now() + 30_000;
  while (!out.includes('"worker started"')) {
    if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}:\n${out}`);
    if (Date.now() > until) throw new Error(`worker did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    output: () => out,
    kill: (signal = "SIGKILL") =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      }),
  };
}

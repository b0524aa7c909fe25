/** The worker as its own OS process (`npm run start:worker`), so a test can SIGKILL it like a crash would. */
import type { ChildProcess } from "node:child_process";
import { spawnNode } from "./child.ts";

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const worker = spawnNode("main.ts", ["--worker"], { env: { PATH: process.env.PATH, NODE_ENV: "test", LOG_LEVEL: "info", ...env } });
  await worker.waitFor('"worker started"', 30_000);
  return {
    child: worker.child,
    output: worker.output,
    kill: async (signal = "SIGKILL") => {
      await worker.stop(signal);
    },
  };
}

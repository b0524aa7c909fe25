/**
 * The worker (`npm run start:worker`) and the API server (`npm run start:server`) as their own OS processes, so a
 * test can run several on one database, or SIGKILL one like a crash would.
 */
import type { ChildProcess } from "node:child_process";
import { freePort } from "../../core/net.ts";
import { spawnNode } from "./child.ts";

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServerProcess extends WorkerProcess {
  baseUrl: string;
}

export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const worker = spawnNode("main.ts", ["--worker"], { env: { PATH: process.env.PATH, NODE_ENV: "test", LOG_LEVEL: "info", ...env } });
  await worker.waitFor('"worker started"', 60_000);
  return {
    child: worker.child,
    output: worker.output,
    kill: async (signal = "SIGKILL") => {
      await worker.stop(signal);
    },
  };
}

/** The API server on a free loopback port, in production mode unless NODE_ENV says otherwise. */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const server = spawnNode("main.ts", ["--server"], { env: { PATH: process.env.PATH, NODE_ENV: "production", LOG_LEVEL: "info", ...env, PORT: String(port) } });
  try {
    await server.waitFor('"server listening"', 60_000);
  } catch (error) {
    await server.stop("SIGKILL");
    throw error;
  }
  return {
    child: server.child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: server.output,
    kill: async (signal = "SIGTERM") => {
      await server.stop(signal);
    },
  };
}

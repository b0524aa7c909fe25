/**
 * The worker as production runs it (`node server/main.ts --worker`, i.e. `npm run start:worker`), in a child
 * process of its own. Tests need that for two reasons: NODE_EXTRA_CA_CERTS is read once, when a Node process
 * starts, so only a process started with it trusts the local push service's self-signed certificate the way a
 * production worker trusts FCM's (through the default trust store, no test hook in the sending code); and a
 * worker that dies mid-job has to be a process that can be SIGKILLed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../server/database/migrate.ts";
import { TEST_JWT_SECRET } from "./server.ts";

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL: no graceful shutdown, jobs stay locked, Postgres sees the connections drop. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
}

export async function startWorkerProcess(options: { databaseUrl: string; caFile: string; env?: Record<string, string> }): Promise<WorkerProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "test",
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    NODE_EXTRA_CA_CERTS: options.caFile,
    LOG_LEVEL: "info",
    WORKER_CONCURRENCY: "4",
    ...options.env,
  };
  const child = spawn(process.execPath, [path.join(ROOT, "server/main.ts"), "--worker"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const until = Date.now() + 60_000;
  while (!out.includes('"msg":"worker started"')) {
    if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}:\n${out}`);
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`worker did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * `npm start` with DATABASE_URL, as a deployment runs it: `node main.ts` (server and worker in one process)
 * in a child process on a free loopback port, for tests of commands that talk to a running server (npm run doctor).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../core/database/migrate.ts";
import { freePort } from "../../core/net.ts";

export interface NexusProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  output(): string;
  stop(): Promise<void>;
}


export async function startNexusProcess(env: Record<string, string>): Promise<NexusProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, "main.ts")], {
    env: { PATH: process.env.PATH, LOG_LEVEL: "info", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const until = Date.now() + 60_000;
  while (!out.includes("GraphQL:")) {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`npm start did not come up:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

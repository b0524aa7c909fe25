/**
 * Our own commands as child processes (`node main.ts`, `node cli/nexus.ts …`), the way a user runs them. Output
 * is collected in order (stdout and stderr together); waiting for a line is driven by the output itself, not
 * by polling, and fails at once with the output so far when the process exits first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../core/database/migrate.ts";

export interface NodeChild {
  child: ChildProcess;
  /** stdout and stderr as they came. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once the output contains `text`; rejects if the process exits first or `timeoutMs` passes. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Send `signal` (unless it has exited already) and resolve with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Ctrl-C: SIGINT to the whole process group (spawned with detached), and resolve with the exit code. */
  interrupt(): Promise<number | null>;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** A process group of its own, so that interrupt() reaches it the way Ctrl-C in a terminal does. */
  detached?: boolean;
}

/** Start `node <script> [args]` (script relative to the repository root, or absolute). */
export function spawnNode(script: string, args: string[], { env, cwd = ROOT, detached = false }: SpawnOptions): NodeChild {
  const child = spawn(process.execPath, [path.resolve(ROOT, script), ...args], { env, cwd, detached, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const streams = { stdout: "", stderr: "" };
  const listeners = new Set<() => void>();
  const append = (stream: keyof typeof streams) => (chunk: Buffer) => {
    out += chunk.toString();
    streams[stream] += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", append("stdout"));
  child.stderr!.on("data", append("stderr"));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    exited,
    waitFor(text, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          listeners.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (out.includes(text)) done();
        };
        const timer = setTimeout(() => done(new Error(`no "${text}" within ${timeoutMs} ms:\n${out}`)), timeoutMs);
        void exited.then((code) => done(new Error(`exited ${code} before "${text}":\n${out}`)));
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async interrupt() {
      if (!detached) throw new Error("interrupt() needs a child spawned with detached: true");
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGINT");
      return exited;
    },
  };
}

/** Run `node <script> [args]` to the end. */
export async function runNode(
  script: string,
  args: string[],
  options: SpawnOptions,
): Promise<{ code: number | null; output: string; stdout: string; stderr: string }> {
  const child = spawnNode(script, args, options);
  const code = await child.exited;
  return { code, output: child.output(), stdout: child.stdout(), stderr: child.stderr() };
}

/**
 * How a command (the doctor, `npm run nexus`) ends, whichever way it ends: what it started that outlives it (the
 * embedded Postgres, which pg_ctl puts in a session of its own) is stopped first. Besides finishing, a command ends
 * on Ctrl-C, SIGTERM or SIGHUP (exit 128 + the signal's number), and when its output is closed under it: a reader
 * that has seen enough (`npm run -s doctor | head -3`) is a normal end, so EPIPE on stdout or stderr exits 0 without
 * a word. `npm start` is not a command: main.ts shuts its server and worker down in its own order.
 */

import pg from "pg";

type Cleanup = () => Promise<void>;

/**
 * A database client for a command. An idle client whose connection ends (the embedded Postgres stopped by the
 * command's own Ctrl-C cleanup, a restart) would otherwise throw from its 'error' event and crash the command with
 * a stack trace; the next query on it fails with its own error, which the command reports.
 */
export function commandClient(config: pg.ClientConfig): pg.Client {
  const client = new pg.Client(config);
  client.on("error", () => {});
  return client;
}

const cleanups = new Set<Cleanup>();
let installed = false;
let ending: Promise<never> | undefined;
/** While > 0, Ctrl-C belongs to an interactive child (psql), which reads it itself. */
let interactive = 0;

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** Run every cleanup (each once, the last registered first), then exit with `code`. Later calls wait for the first. */
export function endCommand(code: number): Promise<never> {
  ending ??= (async () => {
    for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => {});
    process.exit(code);
  })();
  return ending;
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const [signal, number] of Object.entries(SIGNALS)) {
    process.on(signal, () => {
      if (signal === "SIGINT" && interactive > 0) return;
      // A second signal while the cleanup waits (pg_ctl can take its time): the user means it, exit now.
      if (ending) process.exit(128 + number);
      void endCommand(128 + number);
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") void endCommand(0);
      else void endCommand(1);
    });
  }
}

/** Stop `cleanup`'s resource however this command ends; returns the function that forgets it (once stopped normally). */
export function stopBeforeExit(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Install the signal and closed-output handling with nothing to stop yet (a command that may never start anything). */
export function handleCommandExits(): void {
  install();
}

/** Run `fn` (an interactive child such as psql) with Ctrl-C left to that child. */
export async function withInteractiveChild<T>(fn: () => Promise<T>): Promise<T> {
  interactive++;
  try {
    return await fn();
  } finally {
    interactive--;
  }
}

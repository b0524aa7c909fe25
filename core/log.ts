import { pino, type Logger } from "pino";

/**
 * Structured JSON logs, one line an event, so an operator can grep and ship them. Made before the configuration
 * is read, so a LOG_LEVEL pino does not know starts it at info (pino would throw, with a stack trace): the
 * configuration then refuses that LOG_LEVEL in one line, as it does any malformed variable.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  const known = level === "silent" || Object.hasOwn(pino.levels.values, level);
  // Into process.stdout itself: in order with the banner and everything else written there, and queued in memory
  // (not blocking the event loop) while a slow reader has the pipe full. pino's own default destination writes
  // from a thread of its own, so a line could be overtaken by the next or lost at exit (see exitWhenDrained).
  return pino({ level: known ? level : "info", base: { service: "nomadnexus" }, timestamp: pino.stdTimeFunctions.isoTime }, process.stdout);
}

/**
 * End the process with `code` once what it wrote to stdout has gone out: by letting the event loop run dry rather
 * than process.exit(), which can cut a pipe's queued lines (the shutdown's "stopped", a start-up's fatal line).
 * Anything still holding the loop gets `deadlineMs`, then the exit is forced.
 */
export function exitWhenDrained(code: number, deadlineMs = 3000): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), deadlineMs).unref();
}

export type { Logger };

import { pino, type Logger } from "pino";

/**
 * Structured JSON logs, one line an event, so an operator can grep and ship them. Made before the configuration
 * is read, so a LOG_LEVEL pino does not know starts it at info (pino would throw, with a stack trace): the
 * configuration then refuses that LOG_LEVEL in one line, as it does any malformed variable.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  const known = level === "silent" || Object.hasOwn(pino.levels.values, level);
  // Written synchronously, as node writes process.stdout to a pipe or file: lines stay in order with the banner and
  // with each other, and the last ones are not lost to process.exit() (pino's default asynchronous destination let
  // "stopped" be overtaken by, or lost after, the line before it).
  return pino(
    { level: known ? level : "info", base: { service: "nomadnexus" }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}

export type { Logger };

import { pino, type Logger } from "pino";

/** Structured JSON logs, one line an event, so an operator can grep and ship them. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { service: "nomadnexus" }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };

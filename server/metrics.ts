/**
 * Prometheus metrics at `GET /metrics`: one prom-client Registry per server, with Node's process metrics and
 * whatever the capability modules add through `NexusModule.metrics(registry, ctx)` (server/modules.ts).
 *
 * Figures that live in the database (queue depth, stale presence, pending notifications…) are read at scrape
 * time in a gauge's collect(), never counted in process memory, so every server behind the load balancer reports
 * the same numbers. `databaseSnapshot` runs one query per scrape for several gauges; `asService` runs it as
 * service_role through the same pgSettings mechanism as the API.
 */
import type { Express } from "express";
import type { Pool } from "pg";
import { makePgAdaptorWithPgClient, type NodePostgresPgClient } from "postgraphile/adaptors/pg";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Logger } from "./log.ts";

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "nexus_" });
  return registry;
}

const SERVICE_SETTINGS = { role: "service_role", "request.jwt.claims": JSON.stringify({ role: "service_role" }) };

/** Run queries as service_role (in one transaction), the way metrics and other internal readers should. */
export function asService(pool: Pool): <T>(fn: (client: NodePostgresPgClient) => Promise<T>) => Promise<T> {
  const withPgClient = makePgAdaptorWithPgClient(pool);
  return (fn) => withPgClient(SERVICE_SETTINGS, fn);
}

/**
 * Share one database read between the gauges of a scrape: prom-client collects all metrics at once, so every
 * gauge that calls the returned function during a scrape awaits the same query. A failed read is logged and
 * yields null, so one unreachable table blanks its gauges instead of failing the whole scrape.
 */
export function databaseSnapshot<T>(log: Logger, what: string, read: () => Promise<T>): () => Promise<T | null> {
  let inFlight: Promise<T | null> | null = null;
  return () => {
    inFlight ??= read()
      .catch((error: unknown) => {
        log.warn({ err: error }, `metrics: reading ${what} failed`);
        return null;
      })
      .finally(() => {
        setImmediate(() => (inFlight = null));
      });
    return inFlight;
  };
}

export function mountMetrics(app: Express, registry: Registry, log: Logger): void {
  app.get("/metrics", async (_req, res) => {
    try {
      res.set("Content-Type", registry.contentType).send(await registry.metrics());
    } catch (error) {
      log.error({ err: error }, "metrics scrape failed");
      res.status(500).type("text/plain").send("metrics unavailable\n");
    }
  });
}

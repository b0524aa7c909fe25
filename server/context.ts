/**
 * What every part of the HTTP server is given (AppContext), and the shape of a capability module (NexusModule):
 * its GraphQL plugins (fields that sign or send after SQL decides), its runbook REST routes, extra Express routes
 * and metrics. Kept apart from app.ts and modules.ts so that the modules and the app import it, not each other.
 */
import type { Express } from "express";
import type { Pool } from "pg";
import type { Registry } from "prom-client";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import type { RestRoute } from "./rest/route.ts";

export interface AppContext {
  config: Config;
  pool: Pool;
  log: Logger;
}

export interface NexusModule {
  name: string;
  plugins?(ctx: AppContext): GraphileConfig.Plugin[];
  restRoutes?(ctx: AppContext): RestRoute[];
  /** Routes outside /functions/v1 (e.g. the LiveKit webhook shim), mounted before the JSON body parsers. */
  mount?(app: Express, ctx: AppContext): void;
  /** Gauges and counters for GET /metrics (see server/metrics.ts), registered on the server's registry. */
  metrics?(registry: Registry, ctx: AppContext): void;
}

/**
 * The capability modules: each brings its GraphQL plugins (fields that sign or send after SQL decides), its
 * runbook REST routes and any extra Express routes. app.ts and graphile.config.ts read this list; adding a
 * capability is one line here.
 */
import type { Express } from "express";
import type { Registry } from "prom-client";
import { academyModule } from "./academy/index.ts";
import type { AppContext } from "./app.ts";
import { opsModule } from "./ops/index.ts";
import { presenceModule } from "./presence/module.ts";
import type { RestRoute } from "./rest/route.ts";
import { pushModule } from "./push/module.ts";
import { voiceModule } from "./voice/index.ts";

export interface NexusModule {
  name: string;
  plugins?(ctx: AppContext): GraphileConfig.Plugin[];
  restRoutes?(ctx: AppContext): RestRoute[];
  /** Routes outside /functions/v1 (e.g. the LiveKit webhook shim), mounted before the JSON body parsers. */
  mount?(app: Express, ctx: AppContext): void;
  /** Gauges and counters for GET /metrics (see server/metrics.ts), registered on the server's registry. */
  metrics?(registry: Registry, ctx: AppContext): void;
}

export const modules: NexusModule[] = [presenceModule, opsModule, voiceModule, pushModule, academyModule];

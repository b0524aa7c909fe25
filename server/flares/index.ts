/**
 * Rescue flares at the edges. GraphQL needs no code: fireRescueFlare, acknowledgeRescueFlare, releaseRescueFlare,
 * resolveRescueFlare and cancelRescueFlare are the SQL functions of db/functions/51_rescue_flares.sql, which decide
 * and queue the pages (delivered by the push capability's jobs). This module adds the runbook's REST route (the
 * runbook has one for firing only; the lifecycle is GraphQL's).
 */
import type { NexusModule } from "../context.ts";
import { flareRoutes } from "./rest.ts";

export const flaresModule: NexusModule = {
  name: "flares",
  restRoutes: () => flareRoutes(),
};

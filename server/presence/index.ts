/** Presence: the LiveKit webhook shim, the roster (SQL: net_roster) and the joins/leaves subscription. */
import type { AppContext, NexusModule } from "../context.ts";
import { LiveSubscriptions, presenceSubscriptionPlugin } from "./graphql.ts";
import { presenceMetrics } from "./metrics.ts";
import { mountWebhook } from "./rest.ts";

/** One server's open subscriptions, shared by its GraphQL plugin and its /metrics gauge (one ctx per server). */
const servers = new WeakMap<AppContext, LiveSubscriptions>();
function liveOf(ctx: AppContext): LiveSubscriptions {
  let live = servers.get(ctx);
  if (!live) servers.set(ctx, (live = new LiveSubscriptions()));
  return live;
}

export const presenceModule: NexusModule = {
  name: "presence",
  mount: (app, ctx) => mountWebhook(app, ctx),
  plugins: (ctx) => [presenceSubscriptionPlugin(liveOf(ctx))],
  metrics: (registry, ctx) => presenceMetrics(registry, ctx, liveOf(ctx)),
};

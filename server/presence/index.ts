/** Presence: the LiveKit webhook shim, the roster (SQL: net_roster) and the joins/leaves subscription. */
import type { AppContext, NexusModule } from "../context.ts";
import { presenceSubscriptionPlugin } from "./graphql.ts";
import { PresenceSubscriptions } from "./subscriptions.ts";
import { presenceMetrics } from "./metrics.ts";
import { mountWebhook } from "./rest.ts";

/** One server's open subscriptions, shared by its GraphQL plugin and its /metrics gauge (one ctx per server). */
const servers = new WeakMap<AppContext, PresenceSubscriptions>();
function subscriptionsOf(ctx: AppContext): PresenceSubscriptions {
  let subscriptions = servers.get(ctx);
  if (!subscriptions) servers.set(ctx, (subscriptions = new PresenceSubscriptions()));
  return subscriptions;
}

export const presenceModule: NexusModule = {
  name: "presence",
  mount: (app, ctx) => mountWebhook(app, ctx),
  plugins: (ctx) => [presenceSubscriptionPlugin(subscriptionsOf(ctx))],
  metrics: (registry, ctx) => presenceMetrics(registry, ctx, subscriptionsOf(ctx)),
};

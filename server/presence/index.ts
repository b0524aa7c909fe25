/** Presence: the LiveKit webhook shim, the roster (SQL: net_roster) and the joins/leaves subscription. */
import type { NexusModule } from "../context.ts";
import { presenceSubscriptionPlugin } from "./graphql.ts";
import { presenceMetrics } from "./metrics.ts";
import { mountWebhook } from "./rest.ts";

export const presenceModule: NexusModule = {
  name: "presence",
  mount: (app, ctx) => mountWebhook(app, ctx),
  plugins: () => [presenceSubscriptionPlugin()],
  metrics: (registry, ctx) => presenceMetrics(registry, ctx),
};

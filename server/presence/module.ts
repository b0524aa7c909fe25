import type { NexusModule } from "../modules.ts";
import { presenceSubscriptionPlugin } from "./subscription.ts";
import { mountWebhook } from "./webhook.ts";

/** Presence: the LiveKit webhook shim, the roster (SQL: net_roster) and the joins/leaves subscription. */
export const presenceModule: NexusModule = {
  name: "presence",
  mount: (app, ctx) => mountWebhook(app, ctx),
  plugins: () => [presenceSubscriptionPlugin()],
};

/**
 * Web Push at the edges. GraphQL subscribePush and unsubscribePush are the SQL functions of
 * db/functions/50_push_subscriptions.sql (graphql.ts only keeps the browser's `p256dh` argument name); the jobs
 * that send (worker/tasks/push__*) sign nothing here. This module adds the runbook's REST route, the VAPID
 * public key for the frontend and the notification queue's gauges.
 */
import type { NexusModule } from "../context.ts";
import { P256dhArgumentPlugin } from "./graphql.ts";
import { pushMetrics } from "./metrics.ts";
import { mountVapidPublicKey, pushRoutes } from "./rest.ts";

export const pushModule: NexusModule = {
  name: "push",
  plugins: () => [P256dhArgumentPlugin],
  restRoutes: () => pushRoutes(),
  metrics: (registry, ctx) => pushMetrics(registry, ctx),
  mount: (app, { config }) => mountVapidPublicKey(app, config),
};

/**
 * Web Push and rescue flares at the edges. GraphQL needs almost nothing here: subscribePush, unsubscribePush,
 * fireRescueFlare, acknowledgeRescueFlare, resolveRescueFlare and cancelRescueFlare are the SQL functions of
 * db/functions/5x_*.sql, which decide and queue; nothing is signed in TypeScript. This module adds the runbook's
 * two REST routes, thin adapters over the same functions, and the VAPID public key for the frontend.
 */
import { Gauge } from "prom-client";
import { z } from "zod";
import { ApiError } from "../../core/errors.ts";
import { cors } from "../http.ts";
import { asService, databaseSnapshot } from "../metrics.ts";
import type { NexusModule } from "../context.ts";
import { defineRoute, sendError } from "../rest/route.ts";
import { P256dhArgumentPlugin } from "./graphql.ts";
import { sentNotificationsMetric } from "./metrics.ts";

/** The runbook's flat body; the browser's PushSubscription JSON ({endpoint, keys: {p256dh, auth}}) is accepted too. */
const SubscribeBody = z.preprocess(
  (body) => {
    const b = body as { keys?: { p256dh?: unknown; auth?: unknown } } | null;
    return b && typeof b === "object" && b.keys && typeof b.keys === "object" ? { ...b.keys, ...b } : body;
  },
  z.object({
    endpoint: z.string().max(2048),
    auth: z.string().max(256),
    p256dh: z.string().max(256),
  }),
);

const RescueRequestBody = z.object({
  location: z.string().max(1000),
  // Matched case-insensitively by public.parse_flare_type.
  flareType: z.string().max(64),
});

export const pushModule: NexusModule = {
  name: "push",
  plugins: () => [P256dhArgumentPlugin],
  restRoutes: () => [
    defineRoute("notifications-subscribe", SubscribeBody, async (input, ctx) => {
      await ctx.withClient((client) =>
        client.query({ text: "select id from public.subscribe_push($1, $2, $3)", values: [input.endpoint, input.p256dh, input.auth] }),
      );
      return { body: { success: true } };
    }),
    defineRoute("handle-rescue-request", RescueRequestBody, async (input, ctx) => {
      const { rows } = await ctx.withClient((client) =>
        client.query<{ id: string; status: string }>({
          text: "select id, status from public.fire_rescue_flare($1, public.parse_flare_type($2))",
          values: [input.location, input.flareType],
        }),
      );
      return { body: { flareId: rows[0]!.id, status: rows[0]!.status } };
    }),
  ],
  metrics(registry, { pool, log }) {
    const read = asService(pool);
    const snapshot = databaseSnapshot(log, "notification queue", () =>
      read(async (client) => {
        const { rows } = await client.query<{ type: string; pending: number; failed: number; oldest: number }>({
          text: `select type,
                        count(*) filter (where sent_at is null and failed_at is null)::int as pending,
                        count(*) filter (where failed_at > now() - interval '24 hours')::int as failed,
                        coalesce(extract(epoch from now() - min(created_at) filter (where sent_at is null and failed_at is null)), 0)::float8 as oldest
                   from public.notification_queue
                  where sent_at is null
                  group by type`,
        });
        return rows;
      }),
    );
    const byType = (help: string, name: string, pick: (row: { pending: number; failed: number; oldest: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["type"],
        registers: [registry],
        async collect() {
          const rows = await snapshot();
          if (!rows) return;
          this.reset();
          for (const row of rows) this.set({ type: row.type }, pick(row));
        },
      });
    byType("Push notifications waiting to be sent (notification_queue rows neither sent nor failed), by type.", "nexus_notifications_pending", (r) => r.pending);
    byType("Push notifications that failed in the last 24 hours (device gone, refused, or retries exhausted), by type.", "nexus_notifications_failed", (r) => r.failed);
    byType("Age in seconds of the oldest pending push notification, by type: deliveries that are stuck.", "nexus_notifications_oldest_pending_seconds", (r) => r.oldest);
    sentNotificationsMetric(registry, { pool, log });
  },
  mount(app, { config }) {
    // The applicationServerKey a browser passes to pushManager.subscribe(); fetched by the frontend (CORS_ORIGINS).
    app.get("/push/vapid-public-key", cors(config.corsOrigins), (_req, res) => {
      const publicKey = config.vapid.publicKey;
      if (!publicKey) {
        return sendError(res, new ApiError("PUSH_NOT_CONFIGURED", "Web Push is not configured: set NEXT_PUBLIC_VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY"));
      }
      res.set("Cache-Control", "public, max-age=300").json({ publicKey });
    });
  },
};

/**
 * Web Push and rescue flares at the edges. GraphQL needs almost nothing here: subscribePush, unsubscribePush,
 * fireRescueFlare, acknowledgeRescueFlare, resolveRescueFlare and cancelRescueFlare are the SQL functions of
 * db/functions/5x_*.sql, which decide and queue; nothing is signed in TypeScript. This module adds the runbook's
 * two REST routes, thin adapters over the same functions, and the VAPID public key for the frontend.
 */
import { z } from "zod";
import { ApiError } from "../errors.ts";
import type { NexusModule } from "../modules.ts";
import { defineRoute, sendError } from "../rest/route.ts";
import { P256dhArgumentPlugin } from "./graphql.ts";

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
  mount(app, { config }) {
    // The applicationServerKey a browser passes to pushManager.subscribe().
    app.get("/push/vapid-public-key", (_req, res) => {
      const publicKey = config.vapid.publicKey;
      if (!publicKey) {
        return sendError(res, new ApiError("PUSH_NOT_CONFIGURED", "Web Push is not configured: set NEXT_PUBLIC_VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY"));
      }
      res.set("Cache-Control", "public, max-age=300").json({ publicKey });
    });
  },
};

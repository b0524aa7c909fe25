/**
 * The runbook's push route, a thin adapter over the same SQL function as GraphQL subscribePush, and the VAPID
 * public key the frontend needs:
 *   POST /functions/v1/notifications-subscribe {endpoint, p256dh, auth} -> {success: true}
 *   GET  /push/vapid-public-key                                          -> {publicKey}
 */
import type { Express } from "express";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { ApiError } from "../../core/errors.ts";
import { cors, CORS_METHODS } from "../http.ts";
import { sendError } from "../http.ts";
import { defineRoute } from "../rest/route.ts";

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

export function pushRoutes() {
  return [
    defineRoute("notifications-subscribe", SubscribeBody, async (input, ctx) => {
      await ctx.asCaller([{ name: "nexus_subscribe_push", text: "select id from public.subscribe_push($1, $2, $3)", values: [input.endpoint, input.p256dh, input.auth] }]);
      return { body: { success: true } };
    }),
  ];
}

/** The applicationServerKey a browser passes to pushManager.subscribe(); fetched by the frontend (CORS_ORIGINS). */
export function mountVapidPublicKey(app: Express, config: Config): void {
  // .all: the preflight (OPTIONS) is answered too, not only the GET.
  app.route("/push/vapid-public-key").all(cors(config.corsOrigins, CORS_METHODS.get)).get((_req, res) => {
    const publicKey = config.vapid.publicKey;
    if (!publicKey) {
      return sendError(res, new ApiError("PUSH_NOT_CONFIGURED", "Web Push is not configured: set NEXT_PUBLIC_VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY"));
    }
    res.set("Cache-Control", "public, max-age=300").json({ publicKey });
  });
}

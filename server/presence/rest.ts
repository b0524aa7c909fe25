/**
 * The LiveKit webhook shim: `POST /livekit/webhook` (alias `/functions/v1/livekit-webhook`).
 *
 * LiveKit signs each delivery with a JWT in `Authorization` (issuer = API key, HS256 with the API secret) whose
 * `sha256` claim is the base64 sha256 of the exact body bytes, so the raw body is read before any JSON parser.
 * Verified events are enqueued as one graphile-worker job each (job key = event id: a redelivery is one job) and
 * answered 200 without waiting for the apply. A missing, wrong, expired or body-mismatched signature is 401 and
 * nothing is written.
 */
import express, { type Express, type Request, type Response } from "express";
import { WebhookReceiver } from "livekit-server-sdk";
import type { Pool } from "pg";
import type { Config } from "../../core/config.ts";
import { ApiError, toApiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { sendError } from "../rest/route.ts";
import { JobBatcher } from "./enqueue.ts";
import { assertApplicable, fromLiveKit, fromLooseJson, MalformedEvent, PRESENCE_EVENTS, type PresenceEvent } from "../../core/presence/events.ts";

export const WEBHOOK_TASK = "presence__apply_event";
export const WEBHOOK_PATHS = ["/livekit/webhook", "/functions/v1/livekit-webhook"];

/** Errors WebhookReceiver throws before it has verified the signature (jose's carry an ERR_J* code). */
function isSignatureFailure(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    (typeof e.code === "string" && e.code.startsWith("ERR_J")) ||
    e.message === "authorization header is empty" ||
    e.message === "sha256 checksum of body does not match" ||
    e.message === "invalid token"
  );
}

export async function verifyWebhook(receiver: WebhookReceiver, raw: string, authorization: string | undefined): Promise<PresenceEvent> {
  const receivedAt = Date.now() / 1000;
  let event: PresenceEvent;
  try {
    event = fromLiveKit(await receiver.receive(raw, authorization), raw, receivedAt);
  } catch (error) {
    if (error instanceof MalformedEvent) throw new ApiError("BAD_REQUEST", error.message);
    if (isSignatureFailure(error)) {
      throw new ApiError("UNAUTHENTICATED", `webhook signature rejected: ${(error as Error).message}`, { cause: error });
    }
    // The signature checked out but the body is not LiveKit's protobuf JSON: the runbook's hand-made dialect.
    try {
      event = fromLooseJson(raw, receivedAt);
    } catch (inner) {
      throw new ApiError("BAD_REQUEST", (inner as Error).message, { cause: inner });
    }
  }
  try {
    assertApplicable(event);
  } catch (error) {
    throw new ApiError("BAD_REQUEST", (error as Error).message, { cause: error });
  }
  return event;
}

export function mountWebhook(app: Express, { config, pool, log }: { config: Config; pool: Pool; log: Logger }): void {
  const { apiKey, webhookSecret } = config.livekit;
  const receiver = apiKey && webhookSecret ? new WebhookReceiver(apiKey, webhookSecret) : undefined;
  const batcher = new JobBatcher(pool);

  const handler = async (req: Request, res: Response) => {
    try {
      if (!receiver) {
        throw new ApiError("LIVEKIT_NOT_CONFIGURED", `LiveKit is not configured: set ${apiKey ? "LIVEKIT_API_SECRET" : "LIVEKIT_API_KEY"}`);
      }
      const raw = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
      const event = await verifyWebhook(receiver, raw, req.headers.authorization);
      if (!PRESENCE_EVENTS.has(event.event)) {
        res.json({ received: true, enqueued: false });
        return;
      }
      await batcher.add({ identifier: WEBHOOK_TASK, payload: event, jobKey: `livekit:${event.id}`, maxAttempts: 25 });
      res.json({ received: true, enqueued: true, id: event.id });
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.code === "UNAUTHENTICATED") {
        req.log?.warn({ reason: apiError.message }, "webhook rejected");
      } else if (apiError.status >= 500) {
        (req.log ?? log).error({ err: error }, "webhook could not be enqueued");
      }
      sendError(res, apiError);
    }
  };

  // Raw bytes, whatever the content type (LiveKit sends application/webhook+json), at most 1 MiB.
  const raw = express.raw({ type: () => true, limit: "1mb" });
  for (const path of WEBHOOK_PATHS) app.post(path, raw, handler);
  app.use(WEBHOOK_PATHS, (error: Error & { type?: string }, _req: Request, res: Response, next: (e?: unknown) => void) => {
    if (error.type === "entity.too.large") return sendError(res, new ApiError("BAD_REQUEST", "body larger than 1 MiB"));
    next(error);
  });
}

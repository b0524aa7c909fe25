/**
 * The LiveKit webhook shim: `POST /livekit/webhook` (alias `/functions/v1/livekit-webhook`).
 *
 * LiveKit signs each delivery with a JWT in `Authorization` (issuer = API key, HS256 with the API secret) whose
 * `sha256` claim is the base64 sha256 of the exact body bytes, so the raw body is read before any JSON parser.
 * Verified events are enqueued as one graphile-worker job each (job key = event id: a redelivery is one job) and
 * answered 200 without waiting for the apply. A missing, wrong, expired or body-mismatched signature is 401 and
 * nothing is written.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Express, Request, Response } from "express";
import { WebhookEvent } from "livekit-server-sdk";
import type { Pool } from "pg";
import { checkHs256 } from "../../core/jwt.ts";
import type { Config } from "../../core/config.ts";
import { ApiError, toApiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { answeredBodyFailure, readRawBody, sendError } from "../http.ts";
import { JobBatcher } from "./enqueue.ts";
import { assertApplicable, fromLiveKit, fromLooseJson, MalformedEvent, PRESENCE_EVENTS, type PresenceEvent } from "../../core/presence/events.ts";

export const WEBHOOK_TASK = "presence__apply_event";
export const WEBHOOK_PATHS = ["/livekit/webhook", "/functions/v1/livekit-webhook"];

/** The SDK's TokenVerifier allows this much clock skew on exp and nbf; so do we. */
const CLOCK_TOLERANCE_SECONDS = 10;

export interface WebhookKeys {
  apiKey: string;
  secret: string;
}

/**
 * Whether `authorization` is LiveKit's signature of exactly these body bytes; throws UNAUTHENTICATED otherwise.
 * What counts as signed is an allow-list (checkHs256: HS256 only, correct HMAC under the webhook secret, exp
 * not passed, nbf reached), then `iss` equal to our API key and a `sha256` claim equal to the base64 sha256 of
 * the raw body. The header is the bare JWT, as LiveKit sends it and the SDK's WebhookReceiver reads it: a
 * `Bearer ` prefix is not a JWT. Every other outcome, whatever threw, is a refusal.
 */
export function verifyWebhookSignature(raw: Buffer, authorization: string | undefined, keys: WebhookKeys): void {
  if (!authorization) throw new ApiError("UNAUTHENTICATED", "authorization header is empty", { refusal: "no_signature" });
  let claims: Record<string, unknown>;
  try {
    claims = checkHs256(authorization, keys.secret, CLOCK_TOLERANCE_SECONDS);
  } catch (error) {
    throw error instanceof ApiError ? error : new ApiError("UNAUTHENTICATED", "invalid token", { cause: error });
  }
  if (claims.iat !== undefined && typeof claims.iat !== "number") throw new ApiError("UNAUTHENTICATED", "token iat is not a number", { refusal: "malformed" });
  if (typeof claims.iss !== "string" || claims.iss !== keys.apiKey) throw new ApiError("UNAUTHENTICATED", "token was not issued by our API key", { refusal: "wrong_key" });
  if (typeof claims.sha256 !== "string") throw new ApiError("UNAUTHENTICATED", "token has no sha256 claim", { refusal: "body_mismatch" });
  const expected = Buffer.from(createHash("sha256").update(raw).digest("base64"));
  const given = Buffer.from(claims.sha256);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError("UNAUTHENTICATED", "sha256 checksum of body does not match", { refusal: "body_mismatch" });
  }
}

/**
 * For the log of a refused delivery, never for a decision: whether `authorization` is a JWT at all, and the API key
 * it claims to be issued by (`iss`, read without trusting it: a key id is not a secret). A missing header or one
 * that is no JWT is `{ jwt: false }`: what the internet (and the doctor's unsigned probes) sends.
 */
export function claimedSigner(authorization: string | undefined): { jwt: false } | { jwt: true; iss: string | undefined } {
  const parts = authorization?.split(".");
  if (!parts || parts.length !== 3) return { jwt: false };
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { iss?: unknown } | null;
    if (!payload || typeof payload !== "object") return { jwt: false };
    const iss = typeof payload.iss === "string" && /^[\w.:-]{1,128}$/.test(payload.iss) ? payload.iss : undefined;
    return { jwt: true, iss };
  } catch {
    return { jwt: false };
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * JSON's `\u0000` (an odd run of backslashes before it is an escape; an even one is escaped backslashes and text),
 * which Postgres's jsonb cannot hold (22P05). A participant's name or metadata from a SIP bridge or an agent may
 * carry one; it becomes U+FFFD instead of failing the event.
 */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * A verified delivery's event. Only called once the signature checked out, so either dialect may be tried:
 * LiveKit's protobuf JSON first, the runbook's hand-made body when that does not fit.
 */
export function parseWebhookBody(raw: Buffer, receivedAt: number): PresenceEvent {
  let text: string;
  let json: unknown;
  try {
    text = UTF8.decode(raw).replace(NUL_ESCAPE, "$1\\ufffd");
    json = JSON.parse(text);
  } catch (error) {
    throw new ApiError("BAD_REQUEST", "the body is not JSON", { cause: error });
  }
  let event: PresenceEvent;
  try {
    let liveKit: WebhookEvent | undefined;
    try {
      liveKit = WebhookEvent.fromJson(json as never, { ignoreUnknownFields: true });
    } catch {
      // Not LiveKit's protobuf JSON (the runbook's `"room": "test-room"`): the signed body in the loose dialect.
    }
    event = liveKit ? fromLiveKit(liveKit, text, receivedAt) : fromLooseJson(text, receivedAt);
    assertApplicable(event, receivedAt);
  } catch (error) {
    if (error instanceof MalformedEvent) throw new ApiError("BAD_REQUEST", error.message, { cause: error });
    throw error;
  }
  return event;
}

/** Verify, then parse: nothing reads the body of a delivery whose signature did not check out. */
export function verifyWebhook(raw: Buffer, authorization: string | undefined, keys: WebhookKeys): PresenceEvent {
  const receivedAt = Date.now() / 1000;
  verifyWebhookSignature(raw, authorization, keys);
  return parseWebhookBody(raw, receivedAt);
}

export function mountWebhook(app: Express, { config, pool, log }: { config: Config; pool: Pool; log: Logger }): void {
  const { apiKey, webhookSecret } = config.livekit;
  const keys = apiKey && webhookSecret ? { apiKey, secret: webhookSecret } : undefined;
  const batcher = new JobBatcher(pool);

  const handler = async (req: Request, res: Response) => {
    try {
      if (!keys) {
        throw new ApiError("LIVEKIT_NOT_CONFIGURED", `LiveKit is not configured: set ${apiKey ? "LIVEKIT_API_SECRET" : "LIVEKIT_API_KEY"}`);
      }
      const raw = await readRawBody(req, WEBHOOK_BODY_LIMIT);
      const event = verifyWebhook(raw, req.headers.authorization, keys);
      if (!PRESENCE_EVENTS.has(event.event)) {
        res.json({ received: true, enqueued: false });
        return;
      }
      await batcher.add({ identifier: WEBHOOK_TASK, payload: event, jobKey: `livekit:${event.id}`, maxAttempts: 25 });
      res.json({ received: true, enqueued: true, id: event.id });
    } catch (error) {
      if (answeredBodyFailure(res, error, req.log)) return;
      const apiError = toApiError(error);
      if (apiError.code === "UNAUTHENTICATED") {
        // Refused either way (401). A call with no signature at all is internet noise (scanners, the runbook's
        // curl, the doctor's probes): info. A JWT that does not verify is LiveKit with other keys, a rotation
        // half done, or a forgery: a warning, naming the key it claims to be signed with and ours.
        const signer = claimedSigner(req.headers.authorization);
        if (signer.jwt) req.log?.warn({ reason: apiError.message, claimedKey: signer.iss ?? null, ourKey: keys?.apiKey }, "webhook rejected");
        else req.log?.info({ reason: apiError.message }, "webhook rejected: not signed");
      } else if (apiError.status >= 500) {
        (req.log ?? log).error({ err: error }, "webhook could not be enqueued");
      }
      sendError(res, apiError);
    }
  };

  // The raw bytes, whatever the content type (LiveKit sends application/webhook+json), read by the handler itself:
  // at most 1 MiB, and a larger body is refused as soon as it is, not read to its end.
  for (const path of WEBHOOK_PATHS) app.post(path, handler);
}

const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * Sending one push message with web-push (RFC 8291 aes128gcm payload, RFC 8292 VAPID) and saying what the push
 * service's answer means for the row in notification_queue:
 *   201/202 (any 2xx)       sent
 *   404/410                 gone: the browser unsubscribed or the subscription expired; delete it
 *   429, 5xx, network error retry, with the job's backoff
 *   other 4xx, bad input    failed for good (a retry would get the same answer)
 * Connections to a push service are kept alive and shared (one agent), and its VAPID header is reused.
 */
import https from "node:https";
import webpush from "web-push";
import { VapidHeaderCache, type VapidKeys } from "./vapid.ts";

export type PushOutcomeKind = "sent" | "gone" | "retry" | "failed";

export interface PushOutcome {
  /** notification_queue.id */
  id: number;
  outcome: PushOutcomeKind;
  status?: number;
  error?: string;
}

export interface PushDelivery {
  id: number | string;
  endpoint: string;
  p256dh: string;
  auth: string;
  payload: unknown;
}

export interface PushSenderOptions {
  vapid: VapidKeys;
  /** How long a push service keeps a message for a device that is offline (seconds). */
  ttlSeconds?: number;
  /** Socket timeout of one request (ms). */
  timeoutMs?: number;
  /** Concurrent connections to one push service. */
  maxSocketsPerOrigin?: number;
}

export interface PushSender {
  send(delivery: PushDelivery): Promise<PushOutcome>;
  readonly vapid: VapidHeaderCache;
  close(): void;
}

const NETWORK_ERROR = /^(E[A-Z]+|UND_ERR_\w+|ERR_SSL_\w+|CERT_\w+|UNABLE_TO_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)$/;

export function classifyPushFailure(error: unknown): { outcome: PushOutcomeKind; status?: number; error: string } {
  if (error instanceof webpush.WebPushError) {
    const status = error.statusCode;
    const body = String(error.body ?? "").replace(/\s+/g, " ").trim().slice(0, 300);
    const described = `HTTP ${status}${body ? `: ${body}` : ""}`;
    if (status === 404 || status === 410) return { outcome: "gone", status, error: described };
    if (status === 429 || status >= 500) return { outcome: "retry", status, error: described };
    return { outcome: "failed", status, error: described };
  }
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const message = String(e?.message ?? error);
  if ((typeof e?.code === "string" && NETWORK_ERROR.test(e.code)) || /socket timeout|socket hang up/i.test(message)) {
    return { outcome: "retry", error: `network: ${typeof e?.code === "string" ? `${e.code} ` : ""}${message}`.slice(0, 500) };
  }
  return { outcome: "failed", error: message.slice(0, 500) };
}

export function createPushSender(options: PushSenderOptions): PushSender {
  const vapid = new VapidHeaderCache(options.vapid);
  const agent = new https.Agent({ keepAlive: true, maxSockets: options.maxSocketsPerOrigin ?? 128 });
  const ttl = options.ttlSeconds ?? 3600;
  const timeout = options.timeoutMs ?? 10_000;

  return {
    vapid,
    async send(delivery) {
      const id = Number(delivery.id);
      try {
        const result = await webpush.sendNotification(
          { endpoint: delivery.endpoint, keys: { p256dh: delivery.p256dh, auth: delivery.auth } },
          JSON.stringify(delivery.payload),
          {
            headers: { Authorization: vapid.authorizationFor(delivery.endpoint) },
            contentEncoding: "aes128gcm",
            TTL: ttl,
            // Everything we page someone about is waited for: a rescue, a sim pod ready, an answer to a flare.
            urgency: "high",
            agent,
            timeout,
          },
        );
        return { id, outcome: "sent", status: result.statusCode };
      } catch (error) {
        return { id, ...classifyPushFailure(error) };
      }
    },
    close() {
      agent.destroy();
    },
  };
}

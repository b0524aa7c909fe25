/**
 * Sending one push message and saying what the push service's answer means for the row in notification_queue:
 *   201/202 (any 2xx)            sent
 *   404/410                      gone: the browser unsubscribed or the subscription expired; delete it
 *   429, 5xx, network, deadline  retry, with the job's backoff
 *   other 4xx, bad input         failed for good (a retry would get the same answer)
 *
 * web-push builds the request (RFC 8291 aes128gcm payload, RFC 8292 VAPID header, TTL and Urgency); the request
 * itself is ours, for two reasons. A deadline (PUSH_TIMEOUT_MS) covers everything from the first byte of DNS and
 * connect to the last byte of the answer: web-push's own `timeout` is an idle timer, and its promise never settles
 * when a push service sends its headers and then stops or trickles the body. And the connection goes to the host
 * and port Postgres approved for the row (nexus_private.push_deliveries_due), read by the WHATWG URL parser and
 * refused if it reads anything else: web-push parses endpoints with the legacy url.parse.
 *
 * Connections to a push service are kept alive and shared (one agent); a request past its deadline destroys its
 * socket, so a stalled push service holds nothing after it, and so does an answer whose body runs past
 * MAX_ANSWER_BYTES. The VAPID header is reused per push service.
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";
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
  /** The host (IPv6 in brackets) and port Postgres approved for this endpoint; the request goes there or nowhere. */
  host: string | null;
  port: number | null;
}

export interface PushSenderOptions {
  vapid: VapidKeys;
  /** How long a push service keeps a message for a device that is offline (seconds). */
  ttlSeconds?: number;
  /** Hard deadline of one push, connect to the end of the answer (ms). */
  timeoutMs?: number;
  /**
   * Concurrent connections to one push service. The deadline runs from the call to send(), so a push waiting for
   * a connection spends its own time: give at least as many as pushes can be in flight at once.
   */
  maxSocketsPerOrigin?: number;
}

export interface PushSender {
  send(delivery: PushDelivery): Promise<PushOutcome>;
  readonly vapid: VapidHeaderCache;
  close(): void;
}

/** Error codes of failures on the way (DNS, TCP, TLS): the push service may answer next time. */
const NETWORK_ERROR = /^(E[A-Z]+|UND_ERR_\w+|ERR_SSL_\w+|ERR_TLS_\w+|ERR_STREAM_PREMATURE_CLOSE|CERT_\w+|UNABLE_TO_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HPE_\w+)$/;
/**
 * Of a push service's answer, this much is kept for last_error; past it the worker stops reading and closes the
 * connection, so a push service streaming an endless body costs one chunk, not the deadline's worth of download.
 */
const MAX_ANSWER_BYTES = 4096;

export function classifyStatus(status: number, body: string): { outcome: PushOutcomeKind; status: number; error?: string } {
  if (status >= 200 && status <= 299) return { outcome: "sent", status };
  const text = body.replace(/\s+/g, " ").trim().slice(0, 300);
  const described = `HTTP ${status}${text ? `: ${text}` : ""}`;
  if (status === 404 || status === 410) return { outcome: "gone", status, error: described };
  if (status === 429 || status >= 500) return { outcome: "retry", status, error: described };
  return { outcome: "failed", status, error: described };
}

export function classifyError(error: unknown): { outcome: PushOutcomeKind; error: string } {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const message = String(e?.message ?? error);
  if (typeof e?.code === "string" && NETWORK_ERROR.test(e.code)) {
    return { outcome: "retry", error: `network: ${e.code} ${message}`.slice(0, 500) };
  }
  return { outcome: "failed", error: message.slice(0, 500) };
}

/**
 * The WHATWG reading of an endpoint, if it names exactly the host and port Postgres approved (and nothing a URL
 * parser would rewrite: credentials, other schemes); undefined otherwise.
 */
export function approvedTarget(delivery: Pick<PushDelivery, "endpoint" | "host" | "port">): URL | undefined {
  if (!delivery.host || !delivery.port) return undefined;
  let url: URL;
  try {
    url = new URL(delivery.endpoint);
  } catch {
    return undefined;
  }
  const port = url.port === "" ? 443 : Number(url.port);
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "") return undefined;
  if (url.hostname !== delivery.host || port !== delivery.port) return undefined;
  // The endpoint as written must be that host, then its path: nothing WHATWG would normalise away (a backslash,
  // percent escapes, another spelling of the address) may stand between them.
  const written = delivery.endpoint.toLowerCase();
  const authority = `https://${url.host}`;
  if (!written.startsWith(authority)) return undefined;
  const rest = written.slice(authority.length);
  if (!(rest === "" || rest.startsWith("/") || (url.port === "" && /^:0*443(\/|$)/.test(rest)))) return undefined;
  return url;
}

/** A push that did not get its whole answer by the deadline. */
class PushDeadline extends Error {}

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request that settles by `timeoutMs`, whatever the other side does; past it, its socket is destroyed. */
function request(url: URL, details: webpush.RequestDetails, agent: https.Agent, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let response: IncomingMessage | undefined;
    let settled = false;
    const settle = (error: Error | undefined, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        req.destroy();
        response?.destroy();
        reject(error);
      } else {
        resolve(answer!);
      }
    };
    const req = https.request(
      {
        // WHATWG keeps IPv6 brackets in hostname; the socket wants the bare address.
        hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: url.port === "" ? 443 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: details.method,
        headers: details.headers,
        agent,
      },
      (res) => {
        response = res;
        const chunks: Buffer[] = [];
        let kept = 0;
        const answer = (): Answer => ({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString("utf8") });
        res.on("data", (chunk: Buffer) => {
          if (settled) return;
          chunks.push(chunk);
          kept += chunk.length;
          if (kept > MAX_ANSWER_BYTES) {
            // Enough to classify and record: the status is the answer. Settle first, so 'close' (res.complete is
            // false) finds the push settled, then drop the connection: the agent never pools a destroyed socket.
            settle(undefined, answer());
            req.destroy();
            res.destroy();
          }
        });
        res.on("end", () => settle(undefined, answer()));
        res.on("error", (error) => settle(error));
        res.on("close", () => {
          if (!res.complete) settle(Object.assign(new Error("the push service closed the connection mid-answer"), { code: "ECONNRESET" }));
        });
      },
    );
    const timer = setTimeout(() => settle(new PushDeadline(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (error) => settle(error));
    req.end(details.body ?? undefined);
  });
}

export function createPushSender(options: PushSenderOptions): PushSender {
  const vapid = new VapidHeaderCache(options.vapid);
  const agent = new https.Agent({ keepAlive: true, maxSockets: options.maxSocketsPerOrigin ?? 128 });
  const ttl = options.ttlSeconds ?? 3600;
  const timeoutMs = options.timeoutMs ?? 10_000;

  return {
    vapid,
    async send(delivery) {
      const id = Number(delivery.id);
      const url = approvedTarget(delivery);
      if (!url) return { id, outcome: "failed", error: "not sent: the endpoint does not name the push service it was approved for" };
      try {
        const details = webpush.generateRequestDetails(
          { endpoint: delivery.endpoint, keys: { p256dh: delivery.p256dh, auth: delivery.auth } },
          JSON.stringify(delivery.payload),
          {
            headers: { Authorization: vapid.authorizationFor(delivery.endpoint) },
            contentEncoding: "aes128gcm",
            TTL: ttl,
            // Everything we page someone about is waited for: a rescue, a sim pod ready, an answer to a flare.
            urgency: "high",
          },
        );
        const answer = await request(url, details, agent, timeoutMs);
        return { id, ...classifyStatus(answer.status, answer.body) };
      } catch (error) {
        if (error instanceof PushDeadline) {
          return { id, outcome: "retry", error: `deadline: no complete answer from the push service within ${timeoutMs} ms (PUSH_TIMEOUT_MS)` };
        }
        return { id, ...classifyError(error) };
      }
    },
    close() {
      agent.destroy();
    },
  };
}

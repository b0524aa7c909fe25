/**
 * LiveKit's RoomService as the worker uses it (live rights, presence reconcile): the operator's LIVEKIT_URL and
 * key pair, a deadline on every call (LIVEKIT_TIMEOUT_MS), and no region failover (which would retry against
 * other hosts and stretch the deadline). Each room gets a client carrying a pre-signed room-admin token for that
 * room (core/livekit/tokens.ts), reused for most of its lifetime: a gate raised on a full net is a thousand calls
 * on one room, and the SDK would otherwise sign a token per call.
 */
import { RoomServiceClient, TwirpError } from "livekit-server-sdk";
import type { Config } from "../config.ts";
import { signRoomAdminToken } from "./tokens.ts";

/** Room-admin tokens live this long, and are replaced once less than a minute is left. */
const TOKEN_TTL_SECONDS = 600;
const RENEW_BEFORE_MS = 60_000;

export interface RoomService {
  /** The client for calls on one room. */
  room(name: string): RoomServiceClient;
}

/** Null when LiveKit is not configured. */
export function roomService(config: Config): RoomService | null {
  const { url, apiKey, apiSecret, timeoutMs } = config.livekit;
  if (!url || !apiKey || !apiSecret) return null;
  const host = url.replace(/^ws/, "http");
  const clients = new Map<string, { client: RoomServiceClient; renewAt: number }>();
  return {
    room(name) {
      const now = Date.now();
      const cached = clients.get(name);
      if (cached && cached.renewAt > now) return cached.client;
      if (clients.size > 1000) for (const [room, entry] of clients) if (entry.renewAt <= now) clients.delete(room);
      const { token, expiresAt } = signRoomAdminToken({ url, apiKey, apiSecret }, name, TOKEN_TTL_SECONDS, now);
      const client = new RoomServiceClient(host, apiKey, apiSecret, { requestTimeout: timeoutMs / 1000, failover: false, token });
      clients.set(name, { client, renewAt: expiresAt.getTime() - RENEW_BEFORE_MS });
      return client;
    },
  };
}

/**
 * LiveKit answers a room or participant that does not exist with a Twirp error: HTTP 404, code `not_found`.
 * Only that reply counts: a network failure (say DNS's ENOTFOUND) must never be read as "not there".
 */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof TwirpError)) return false;
  return error.status === 404 && error.code === "not_found";
}

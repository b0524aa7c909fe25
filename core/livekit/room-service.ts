/**
 * LiveKit's RoomService as the worker uses it (live rights, presence reconcile): the operator's LIVEKIT_URL and
 * key pair, a deadline on every call (LIVEKIT_TIMEOUT_MS), and no region failover (which would retry against
 * other hosts and stretch the deadline). Null when LiveKit is not configured.
 */
import { RoomServiceClient, TwirpError } from "livekit-server-sdk";
import type { Config } from "../config.ts";

export function roomService(config: Config): RoomServiceClient | null {
  const { url, apiKey, apiSecret, timeoutMs } = config.livekit;
  if (!url || !apiKey || !apiSecret) return null;
  return new RoomServiceClient(url.replace(/^ws/, "http"), apiKey, apiSecret, {
    requestTimeout: timeoutMs / 1000,
    failover: false,
  });
}

/**
 * LiveKit answers a room or participant that does not exist with a Twirp error: HTTP 404, code `not_found`.
 * Only that reply counts: a network failure (say DNS's ENOTFOUND) must never be read as "not there".
 */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof TwirpError)) return false;
  return error.status === 404 && error.code === "not_found";
}

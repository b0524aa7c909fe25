/**
 * LiveKit as it looks from our side of the wire: webhook bodies in LiveKit's own JSON (protobuf JSON: camelCase,
 * int64 as strings) signed exactly as the LiveKit server signs them — an HS256 JWT issued by the API key, valid
 * five minutes, whose `sha256` claim is the base64 sha256 of the body, sent as the `Authorization` header.
 */
import { createHash } from "node:crypto";
import { AccessToken, WebhookEvent } from "livekit-server-sdk";

export const LIVEKIT_KEY = "APItestkey";
export const LIVEKIT_SECRET = "livekit-test-secret-livekit-test-secret-0123";
export const LIVEKIT_ENV = { LIVEKIT_URL: "ws://127.0.0.1:7880", LIVEKIT_API_KEY: LIVEKIT_KEY, LIVEKIT_API_SECRET: LIVEKIT_SECRET };

export async function signWebhook(body: string, options: { key?: string; secret?: string; ttl?: string | number } = {}): Promise<string> {
  const token = new AccessToken(options.key ?? LIVEKIT_KEY, options.secret ?? LIVEKIT_SECRET, { ttl: options.ttl ?? "5m" });
  token.sha256 = createHash("sha256").update(body).digest("base64");
  return token.toJwt();
}

export interface ParticipantSpec {
  identity: string;
  sid: string;
  name?: string;
  metadata?: string;
  /** The rights LiveKit reports the participant joined with (its token's). */
  permission?: { canSubscribe?: boolean; canPublish?: boolean; canPublishData?: boolean };
}

let counter = 0;

/** A webhook body exactly as LiveKit serialises it. */
export function liveKitBody(
  event: "participant_joined" | "participant_left" | "participant_connection_aborted" | "room_finished" | "track_published",
  room: string,
  createdAt: number,
  participant?: ParticipantSpec,
  id = `EV_${process.pid}_${++counter}`,
): string {
  const e = new WebhookEvent({
    id,
    createdAt: BigInt(createdAt),
    room: { name: room, sid: `RM_${room}` },
    participant: participant ? { ...participant, state: 2 } : undefined,
  });
  e.event = event;
  return e.toJsonString();
}

export async function postWebhook(baseUrl: string, body: string, authorization?: string, path = "/livekit/webhook"): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/webhook+json", ...(authorization !== undefined ? { authorization } : {}) },
    body,
  });
}

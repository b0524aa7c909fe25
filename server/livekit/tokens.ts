/**
 * Signing LiveKit access tokens, for every capability that hands one out (voice nets, academy sim pods). The
 * database has already decided what the participant may do; this module only turns that decision into a JWT
 * LiveKit accepts. It decides nothing.
 *
 * `AccessToken.toJwt()` is async since livekit-server-sdk v2. The old system called it without `await` and sent
 * `{}` (a serialised Promise) as the token; signParticipantToken awaits it and refuses to return anything but a
 * three-part JWT string.
 */
import { AccessToken, type VideoGrant } from "livekit-server-sdk";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";

export interface LiveKitCredentials {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/**
 * The LiveKit URL and API key pair, or LIVEKIT_NOT_CONFIGURED naming every missing variable (the runbook's
 * "LIVEKIT_API_KEY not set" failure, as a clear 503 instead of a crash).
 */
export function liveKitCredentials(config: Config): LiveKitCredentials {
  const { url, apiKey, apiSecret } = config.livekit;
  const missing = [
    url ? undefined : "LIVEKIT_URL",
    apiKey ? undefined : "LIVEKIT_API_KEY",
    apiSecret ? undefined : "LIVEKIT_API_SECRET",
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0 || !url || !apiKey || !apiSecret) {
    throw new ApiError("LIVEKIT_NOT_CONFIGURED", `LiveKit is not configured: set ${missing.join(", ")}`);
  }
  return { url, apiKey, apiSecret };
}

export interface ParticipantGrant {
  /** The LiveKit room. */
  room: string;
  /** Participant identity: our user id. */
  identity: string;
  /** Display name: the member's callsign. */
  name: string;
  /** Serialised as JSON into the token's participant metadata. */
  metadata: Record<string, unknown>;
  canSubscribe: boolean;
  canPublish: boolean;
  /** Defaults to canPublish: who may not speak may not send data messages either. */
  canPublishData?: boolean;
  /** Control of this one room (sim pod mentors). */
  roomAdmin?: boolean;
  ttlSeconds: number;
}

export interface SignedToken {
  token: string;
  expiresAt: Date;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export async function signParticipantToken(credentials: LiveKitCredentials, grant: ParticipantGrant): Promise<SignedToken> {
  const accessToken = new AccessToken(credentials.apiKey, credentials.apiSecret, {
    identity: grant.identity,
    name: grant.name,
    metadata: JSON.stringify(grant.metadata),
    ttl: grant.ttlSeconds,
  });
  const video: VideoGrant = {
    room: grant.room,
    roomJoin: true,
    canSubscribe: grant.canSubscribe,
    canPublish: grant.canPublish,
    canPublishData: grant.canPublishData ?? grant.canPublish,
  };
  if (grant.roomAdmin) video.roomAdmin = true;
  accessToken.addGrant(video);
  const token: unknown = await accessToken.toJwt();
  if (typeof token !== "string" || !JWT_SHAPE.test(token)) {
    throw new Error("LiveKit token signing returned something other than a JWT string");
  }
  // Report the expiry the token itself carries, to the second.
  const { exp } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { exp: number };
  return { token, expiresAt: new Date(exp * 1000) };
}

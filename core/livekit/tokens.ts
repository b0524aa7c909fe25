/**
 * Signing LiveKit access tokens, for every capability that hands one out (voice nets, academy sim pods). The
 * database has already decided what the participant may do; this module only turns that decision into a JWT
 * LiveKit accepts. It decides nothing.
 *
 * The token is exactly the one livekit-server-sdk's `AccessToken.toJwt()` produces (same header, same claims in
 * the same order, HS256 over the API secret; test/voice/signing.test.ts compares them byte for byte and verifies
 * ours with the SDK's TokenVerifier), signed synchronously with node:crypto. The SDK re-imports the secret through
 * WebCrypto and signs asynchronously on every call, which was about a tenth of the server's CPU per voice token.
 * (The old system called the SDK's async `toJwt()` without `await` and sent `{}` as the token; this returns the
 * token string itself.)
 */
import { createHmac } from "node:crypto";
import type { VideoGrant } from "livekit-server-sdk";
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

// AccessToken's protected header: { alg: "HS256" } and nothing else.
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256" })).toString("base64url");
// AccessToken's default when no TTL is given.
const DEFAULT_TTL_SECONDS = 6 * 3600;

/** Sign a participant token; `now` (ms) is the issue time, for tests that compare with the SDK's token. */
export function signParticipantToken(credentials: LiveKitCredentials, grant: ParticipantGrant, now = Date.now()): SignedToken {
  if (!grant.identity) throw new Error("identity is required for join but not set");
  const video: VideoGrant = {
    room: grant.room,
    roomJoin: true,
    canSubscribe: grant.canSubscribe,
    canPublish: grant.canPublish,
    canPublishData: grant.canPublishData ?? grant.canPublish,
  };
  if (grant.roomAdmin) video.roomAdmin = true;
  const issuedAt = Math.floor(now / 1000);
  const exp = issuedAt + Math.round(grant.ttlSeconds || DEFAULT_TTL_SECONDS);
  // The claims in AccessToken's order: its grants (metadata, name, video), then iss, exp, nbf, sub.
  const claims: Record<string, unknown> = {};
  const metadata = JSON.stringify(grant.metadata);
  if (metadata) claims.metadata = metadata;
  if (grant.name) claims.name = grant.name;
  claims.video = video;
  claims.iss = credentials.apiKey;
  claims.exp = exp;
  claims.nbf = issuedAt;
  claims.sub = grant.identity;
  return { token: signClaims(credentials, claims), expiresAt: new Date(exp * 1000) };
}

/**
 * A token for calling LiveKit's server API on one room (RoomService: list, update, remove participants), as
 * livekit-server-sdk's clients sign per call: `video: { roomAdmin: true, room }`, no identity. The worker signs
 * one per room and reuses it until shortly before it expires, instead of the SDK's WebCrypto signing per call.
 */
export function signRoomAdminToken(credentials: LiveKitCredentials, room: string, ttlSeconds: number, now = Date.now()): SignedToken {
  const issuedAt = Math.floor(now / 1000);
  const exp = issuedAt + Math.round(ttlSeconds);
  const claims = { video: { roomAdmin: true, room }, iss: credentials.apiKey, exp, nbf: issuedAt };
  return { token: signClaims(credentials, claims), expiresAt: new Date(exp * 1000) };
}

function signClaims(credentials: LiveKitCredentials, claims: Record<string, unknown>): string {
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = createHmac("sha256", credentials.apiSecret).update(signingInput).digest("base64url");
  return `${signingInput}.${signature}`;
}

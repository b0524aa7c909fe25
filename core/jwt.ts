/**
 * JWTs: HS256 with JWT_SECRET and Supabase's claims (sub, role, aud, exp), so a token minted by a Supabase project
 * with the same secret is accepted unchanged. Verification happens here, before any SQL: a bad signature,
 * `alg: none` (or any other algorithm), an expired token or a role we do not know is a 401. The HTTP edge that
 * reads them from requests is server/auth.ts.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { SignJWT } from "jose";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";

export const API_ROLES = ["anon", "authenticated", "service_role"] as const;
export type ApiRole = (typeof API_ROLES)[number];

export interface Claims {
  sub?: string;
  role: ApiRole;
  aud?: string | string[];
  exp?: number;
  [claim: string]: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * Sign a JWT with Supabase's claims. A member's access token also carries `session_id` (the session in
 * nexus_private.sessions it belongs to) and `email`, as GoTrue's do.
 */
export async function signJwt(
  secret: string,
  claims: { sub?: string; role: ApiRole; sessionId?: string; email?: string },
  ttlSeconds: number,
): Promise<string> {
  const payload: Record<string, unknown> = { role: claims.role };
  if (claims.sessionId) payload.session_id = claims.sessionId;
  if (claims.email) payload.email = claims.email;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub ?? "")
    .setAudience(claims.role === "authenticated" ? "authenticated" : claims.role)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(secretKey(secret));
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The bytes of one part of a token, which must be canonical base64url (RFC 7515 §2: no padding, no other
 * alphabet), or UNAUTHENTICATED. Canonical also means the unused low bits of the last character are zero:
 * Buffer.from() ignores them, so without this check `…Q` and `…R` would be two token texts for one signature,
 * and a token's text would not be the one its issuer signed. Re-encoding the bytes must give the text back.
 */
function canonicalBytes(part: string): Buffer {
  if (!B64URL.test(part)) throw new ApiError("UNAUTHENTICATED", "token is malformed", { refusal: "malformed" });
  const bytes = Buffer.from(part, "base64url");
  if (bytes.toString("base64url") !== part) throw new ApiError("UNAUTHENTICATED", "token is malformed (not canonical base64url)", { refusal: "malformed" });
  return bytes;
}

function decodeJson(part: string): unknown {
  const bytes = canonicalBytes(part);
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new ApiError("UNAUTHENTICATED", "token is malformed", { refusal: "malformed", cause: error });
  }
}

/**
 * Tokens that passed verifyJwt, by their exact text: a client sends the same JWT with every request of a session,
 * and checking it again (decode, HMAC, JSON) was a tenth of the server's CPU per voice token. Only the parts of
 * the check that cannot change for the same bytes and secret are remembered; expiry and not-before are checked on
 * every use. Bounded: the oldest entry goes when it is full.
 */
const VERIFIED_MAX = 10_000;
const verified = new Map<string, { secret: string; claims: Claims }>();

/** Tokens accepted because they were signed with JWT_PREVIOUS_SECRET, per role, since this process started (/metrics). */
export const acceptedWithPreviousSecret: Record<ApiRole, number> = { anon: 0, authenticated: 0, service_role: 0 };

/**
 * A verified JWT's claims, or UNAUTHENTICATED. Only `alg: HS256` is accepted (not `none`, not any other
 * algorithm, no `crit` extensions); the signature is compared in constant time; `exp` is required. With a
 * `previous` secret (JWT_PREVIOUS_SECRET, during a rotation), a token whose signature is wrong for `secret` is
 * checked again against it, and only then: every other refusal stands as the current secret gave it.
 */
export async function verifyJwt(token: string, secret: string, previous?: string): Promise<Claims> {
  const known = verified.get(token);
  if (known !== undefined && (known.secret === secret || (previous !== undefined && known.secret === previous))) {
    const now = Math.floor(Date.now() / 1000);
    const { exp, nbf } = known.claims;
    if ((exp as number) > now && !(typeof nbf === "number" && nbf > now)) {
      if (known.secret !== secret) acceptedWithPreviousSecret[known.claims.role]++;
      return known.claims;
    }
    verified.delete(token);
  }
  let claims: Claims;
  let by = secret;
  try {
    claims = checkJwt(token, secret);
  } catch (error) {
    if (previous === undefined || !(error instanceof ApiError && error.refusal === "bad_signature")) throw error;
    claims = checkJwt(token, previous);
    by = previous;
    acceptedWithPreviousSecret[claims.role]++;
  }
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, { secret: by, claims });
  return claims;
}

/**
 * The part of an HS256 JWT check every caller of this module shares, with node:crypto and synchronously (WebCrypto's
 * async HMAC cost about a sixth of the server's CPU per voice token). Success is an allow-list: three base64url
 * parts, a JSON object header whose `alg` is exactly HS256 and that names no `crit` extensions, a signature equal
 * (constant time) to HMAC-SHA256 over the first two parts, a JSON object payload with a numeric `exp` not yet
 * passed and, if present, a numeric `nbf` already reached (both within `clockToleranceSeconds`). Anything else
 * throws UNAUTHENTICATED; nothing of the payload is trusted before the signature checked out. Each part must be
 * canonical base64url (canonicalBytes), so one signed token has exactly one text.
 */
export function checkHs256(token: string, secret: string, clockToleranceSeconds = 0): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new ApiError("UNAUTHENTICATED", "token is malformed", { refusal: "malformed" });
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart) as { alg?: unknown; crit?: unknown } | null;
  if (!header || typeof header !== "object" || Array.isArray(header)) throw new ApiError("UNAUTHENTICATED", "token is malformed", { refusal: "malformed" });
  if (header.alg !== "HS256") throw new ApiError("UNAUTHENTICATED", "token algorithm not allowed (HS256 only)", { refusal: "bad_algorithm" });
  if (header.crit !== undefined) throw new ApiError("UNAUTHENTICATED", "token has unsupported critical header parameters", { refusal: "malformed" });
  const given = canonicalBytes(signaturePart);
  const expected = createHmac("sha256", secret).update(`${headerPart}.${payloadPart}`).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError("UNAUTHENTICATED", "token signature is invalid", { refusal: "bad_signature" });
  }
  const payload = decodeJson(payloadPart) as Record<string, unknown> | null;
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) throw new ApiError("UNAUTHENTICATED", "token is malformed", { refusal: "malformed" });
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== "number") throw new ApiError("UNAUTHENTICATED", "token has no expiry (exp)", { refusal: "no_expiry" });
  if (payload.exp <= now - clockToleranceSeconds) throw new ApiError("UNAUTHENTICATED", "token expired", { refusal: "expired" });
  if (payload.nbf !== undefined && typeof payload.nbf !== "number") throw new ApiError("UNAUTHENTICATED", "token nbf is not a number", { refusal: "malformed" });
  if (typeof payload.nbf === "number" && payload.nbf > now + clockToleranceSeconds) {
    throw new ApiError("UNAUTHENTICATED", "token is not valid yet (nbf)", { refusal: "not_yet_valid" });
  }
  return payload;
}

/**
 * An API token: checkHs256, then a role we know; `authenticated` with a user id as its subject and `aud`
 * "authenticated"; anon and service_role with no subject.
 */
function checkJwt(token: string, secret: string): Claims {
  const payload = checkHs256(token, secret);
  const role = payload.role;
  if (typeof role !== "string" || !(API_ROLES as readonly string[]).includes(role)) {
    throw new ApiError("UNAUTHENTICATED", `token role ${JSON.stringify(role ?? null)} is not one of ${API_ROLES.join(", ")}`, { refusal: "bad_claims" });
  }
  if (role === "authenticated") {
    if (typeof payload.sub !== "string" || !UUID.test(payload.sub)) throw new ApiError("UNAUTHENTICATED", "token subject must be a user id (uuid)", { refusal: "bad_claims" });
    // A member's token is for this API (Supabase's and ours say so); one minted for another audience is not.
    const aud = payload.aud;
    if (!(aud === "authenticated" || (Array.isArray(aud) && aud.includes("authenticated")))) {
      throw new ApiError("UNAUTHENTICATED", 'token audience (aud) must be "authenticated"', { refusal: "bad_claims" });
    }
  } else if (payload.sub !== undefined && payload.sub !== "") {
    // anon and service_role name no one: a subject on them is a token made to be misread.
    throw new ApiError("UNAUTHENTICATED", `a ${role} token has no subject`, { refusal: "bad_claims" });
  }
  return Object.freeze(payload) as Claims;
}

/**
 * Settings from the configuration that SQL rules read (current_setting), passed with every request's
 * pgSettings: the hourly flare limit (nexus.flare_max_per_hour, FLARE_MAX_PER_HOUR), the LiveKit token
 * bucket (nexus.livekit_tokens_per_minute, nexus.livekit_token_burst; db/functions/80_rate_limits.sql), the push
 * registration bucket (nexus.push_registrations_per_hour, nexus.push_registration_burst), the rank change bucket
 * (nexus.rank_changes_per_hour, nexus.rank_change_burst) and,
 * when PUSH_ALLOWED_HOSTS is set, the push services an endpoint may name (nexus.push_allowed_hosts).
 * And `statement_timeout` (STATEMENT_TIMEOUT_MS): set with the role switch, local to the request's transaction,
 * so it binds every API role on every path (GraphQL, REST, the pipelined voice path) and never the worker. A
 * role's own `ALTER ROLE … SET` would not do: it applies at login, and API requests only SET ROLE.
 */
export function configPgSettings(
  config: Pick<Config, "flareMaxPerHour" | "tokenRateLimit" | "rankChangeLimit" | "statementTimeoutMs" | "push">,
): Record<string, string> {
  return {
    statement_timeout: String(config.statementTimeoutMs),
    "nexus.flare_max_per_hour": String(config.flareMaxPerHour),
    "nexus.livekit_tokens_per_minute": String(config.tokenRateLimit.perMinute),
    "nexus.livekit_token_burst": String(config.tokenRateLimit.burst),
    "nexus.push_registrations_per_hour": String(config.push.registrationLimit.perHour),
    "nexus.push_registration_burst": String(config.push.registrationLimit.burst),
    "nexus.rank_changes_per_hour": String(config.rankChangeLimit.perHour),
    "nexus.rank_change_burst": String(config.rankChangeLimit.burst),
    ...(config.push.allowedHosts ? { "nexus.push_allowed_hosts": config.push.allowedHosts } : {}),
  };
}

export function pgSettingsFor(claims: Claims | null, configured: Record<string, string> = {}): Record<string, string> {
  if (!claims) return { ...configured, role: "anon", "request.jwt.claims": JSON.stringify({ role: "anon" }) };
  return {
    ...configured,
    role: claims.role,
    "request.jwt.claims": JSON.stringify(claims),
    "request.jwt.claim.sub": claims.sub ?? "",
    "request.jwt.claim.role": claims.role,
  };
}

/** The member a request's settings (pgSettingsFor) act for: the verified claims' `sub`, if any. */
export function memberOfSettings(pgSettings: Record<string, string> | null | undefined): string | undefined {
  try {
    const sub = JSON.parse(pgSettings?.["request.jwt.claims"] ?? "{}").sub;
    return typeof sub === "string" && sub !== "" ? sub : undefined;
  } catch {
    return undefined;
  }
}

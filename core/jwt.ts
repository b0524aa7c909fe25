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

export async function signJwt(
  secret: string,
  claims: { sub?: string; role: ApiRole },
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub ?? "")
    .setAudience(claims.role === "authenticated" ? "authenticated" : claims.role)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(secretKey(secret));
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function decodeJson(part: string): unknown {
  if (!B64URL.test(part)) throw new ApiError("UNAUTHENTICATED", "token is malformed");
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch (error) {
    throw new ApiError("UNAUTHENTICATED", "token is malformed", { cause: error });
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

/**
 * A verified JWT's claims, or UNAUTHENTICATED. Only `alg: HS256` is accepted (not `none`, not any other
 * algorithm, no `crit` extensions); the signature is compared in constant time; `exp` is required.
 */
export async function verifyJwt(token: string, secret: string): Promise<Claims> {
  const known = verified.get(token);
  if (known !== undefined && known.secret === secret) {
    const now = Math.floor(Date.now() / 1000);
    const { exp, nbf } = known.claims;
    if ((exp as number) > now && !(typeof nbf === "number" && nbf > now)) return known.claims;
    verified.delete(token);
  }
  const claims = checkJwt(token, secret);
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, { secret, claims });
  return claims;
}

/**
 * HS256 verification with node:crypto, synchronously: it runs on every API request, and WebCrypto's async HMAC
 * cost about a sixth of the server's CPU per voice token.
 */
function checkJwt(token: string, secret: string): Claims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new ApiError("UNAUTHENTICATED", "token is malformed");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart) as { alg?: unknown; crit?: unknown } | null;
  if (!header || typeof header !== "object") throw new ApiError("UNAUTHENTICATED", "token is malformed");
  if (header.alg !== "HS256") throw new ApiError("UNAUTHENTICATED", "token algorithm not allowed (HS256 only)");
  if (header.crit !== undefined) throw new ApiError("UNAUTHENTICATED", "token has unsupported critical header parameters");
  if (!B64URL.test(signaturePart)) throw new ApiError("UNAUTHENTICATED", "token is malformed");
  const expected = createHmac("sha256", secret).update(`${headerPart}.${payloadPart}`).digest();
  const given = Buffer.from(signaturePart, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError("UNAUTHENTICATED", "token signature is invalid");
  }
  const payload = decodeJson(payloadPart) as Record<string, unknown> | null;
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) throw new ApiError("UNAUTHENTICATED", "token is malformed");
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== "number") throw new ApiError("UNAUTHENTICATED", "token has no expiry (exp)");
  if (payload.exp <= now) throw new ApiError("UNAUTHENTICATED", "token expired");
  if (typeof payload.nbf === "number" && payload.nbf > now) throw new ApiError("UNAUTHENTICATED", "token is not valid yet (nbf)");
  const role = payload.role;
  if (typeof role !== "string" || !(API_ROLES as readonly string[]).includes(role)) {
    throw new ApiError("UNAUTHENTICATED", `token role ${JSON.stringify(role ?? null)} is not one of ${API_ROLES.join(", ")}`);
  }
  if (role === "authenticated" && (typeof payload.sub !== "string" || !UUID.test(payload.sub))) {
    throw new ApiError("UNAUTHENTICATED", "token subject must be a user id (uuid)");
  }
  return Object.freeze(payload) as Claims;
}

/**
 * Settings from the configuration that SQL rules read (current_setting), passed with every request's
 * pgSettings: the hourly flare limit (nexus.flare_max_per_hour, FLARE_MAX_PER_HOUR) and the LiveKit token
 * bucket (nexus.livekit_tokens_per_minute, nexus.livekit_token_burst; db/functions/80_rate_limits.sql).
 * And `statement_timeout` (STATEMENT_TIMEOUT_MS): set with the role switch, local to the request's transaction,
 * so it binds every API role on every path (GraphQL, REST, the pipelined voice path) and never the worker. A
 * role's own `ALTER ROLE … SET` would not do: it applies at login, and API requests only SET ROLE.
 */
export function configPgSettings(config: Pick<Config, "flareMaxPerHour" | "tokenRateLimit" | "statementTimeoutMs">): Record<string, string> {
  return {
    statement_timeout: String(config.statementTimeoutMs),
    "nexus.flare_max_per_hour": String(config.flareMaxPerHour),
    "nexus.livekit_tokens_per_minute": String(config.tokenRateLimit.perMinute),
    "nexus.livekit_token_burst": String(config.tokenRateLimit.burst),
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


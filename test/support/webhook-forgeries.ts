/**
 * Webhook JWTs an attacker can send instead of LiveKit's: every JOSE algorithm with and without a signature,
 * other keys and secrets, tokens for other bodies, missing claims, prefixes. Each must be refused; the HTTP
 * tests send them to the server, the signature test asks the SDK's WebhookReceiver for its verdict too.
 */
import { createHash, createHmac, generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { LIVEKIT_KEY, LIVEKIT_SECRET, liveKitBody, signWebhook } from "./livekit.ts";

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const sha256 = (body: string) => createHash("sha256").update(body).digest("base64");
const now = () => Math.floor(Date.now() / 1000);

/** The claims LiveKit puts in a webhook JWT, for this body. */
const claimsFor = (body: string, extra: Record<string, unknown> = {}) => ({
  iss: LIVEKIT_KEY,
  sub: "",
  nbf: now() - 5,
  exp: now() + 300,
  video: {},
  sha256: sha256(body),
  ...extra,
});

/** A compact JWT with any header, claims and signature bytes: what an attacker can send. */
function rawJwt(header: Record<string, unknown>, claims: Record<string, unknown>, sign?: (input: string) => string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign ? sign(input) : ""}`;
}
const hmacWith = (algorithm: string, secret: string) => (input: string) => createHmac(algorithm, secret).update(input).digest("base64url");

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });

/** Every forgery we know, for one body. Each must be refused. */
export async function forgeries(body: string): Promise<Array<[string, string | undefined]>> {
  const claims = claimsFor(body);
  const asymmetric = async (alg: "RS256" | "ES256" | "PS256") =>
    new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(alg === "ES256" ? ec.privateKey : rsa.privateKey);
  const secret = new TextEncoder().encode(LIVEKIT_SECRET);
  const valid = await signWebhook(body);
  const cases: Array<[string, string | undefined]> = [
    ["no Authorization", undefined],
    ["empty Authorization", ""],
    ["alg none, no signature", rawJwt({ alg: "none", typ: "JWT" }, claims)],
    ["alg none, with an HMAC signature", rawJwt({ alg: "none", typ: "JWT" }, claims, hmacWith("sha256", LIVEKIT_SECRET))],
    ["alg NONE, no signature", rawJwt({ alg: "NONE" }, claims)],
    ["no alg at all", rawJwt({ typ: "JWT" }, claims, hmacWith("sha256", LIVEKIT_SECRET))],
    ["HS384 under the real secret", await new SignJWT(claims).setProtectedHeader({ alg: "HS384" }).sign(secret)],
    ["HS384, no signature", rawJwt({ alg: "HS384" }, claims)],
    ["HS512 under the real secret", await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(secret)],
    ["HS512, no signature", rawJwt({ alg: "HS512" }, claims)],
    ["RS256, no signature", rawJwt({ alg: "RS256", typ: "JWT" }, claims)],
    ["RS256 under an attacker's key", await asymmetric("RS256")],
    ["RS256 with an HMAC of the secret (key confusion)", rawJwt({ alg: "RS256" }, claims, hmacWith("sha256", LIVEKIT_SECRET))],
    ["ES256, no signature", rawJwt({ alg: "ES256", typ: "JWT" }, claims)],
    ["ES256 under an attacker's key", await asymmetric("ES256")],
    ["PS256, no signature", rawJwt({ alg: "PS256", typ: "JWT" }, claims)],
    ["PS256 under an attacker's key", await asymmetric("PS256")],
    ["HS256, no signature", rawJwt({ alg: "HS256", typ: "JWT" }, claims)],
    ["HS256 with a crit extension", rawJwt({ alg: "HS256", crit: ["b64"], b64: false }, claims, hmacWith("sha256", LIVEKIT_SECRET))],
    ["another secret", await signWebhook(body, { secret: "another-secret-another-secret-another-secret" })],
    ["another API key", await signWebhook(body, { key: "APIotherkey" })],
    ["no issuer", rawJwt({ alg: "HS256" }, { ...claims, iss: undefined }, hmacWith("sha256", LIVEKIT_SECRET))],
    ["a valid token for another body", await signWebhook(liveKitBody("participant_joined", "ops-net", now(), { identity: "x", sid: "PA_x" }))],
    ["a valid token without the sha256 claim", rawJwt({ alg: "HS256", typ: "JWT" }, { ...claims, sha256: undefined }, hmacWith("sha256", LIVEKIT_SECRET))],
    ["sha256 as a number", rawJwt({ alg: "HS256" }, { ...claims, sha256: 1 }, hmacWith("sha256", LIVEKIT_SECRET))],
    ["no exp", rawJwt({ alg: "HS256" }, { ...claims, exp: undefined }, hmacWith("sha256", LIVEKIT_SECRET))],
    ["exp as a string", rawJwt({ alg: "HS256" }, { ...claims, exp: String(now() + 300) }, hmacWith("sha256", LIVEKIT_SECRET))],
    ["expired", await signWebhook(body, { ttl: -60 })],
    ["not valid before next hour", rawJwt({ alg: "HS256" }, { ...claims, nbf: now() + 3600 }, hmacWith("sha256", LIVEKIT_SECRET))],
    ["a valid token behind a Bearer prefix", `Bearer ${valid}`],
    ["a valid token behind a lower-case bearer prefix", `bearer ${valid}`],
    ["a valid token with a trailing dot", `${valid}.`],
    ["a valid token with its signature cut", valid.slice(0, valid.lastIndexOf(".") + 1)],
    ["a payload that is a JSON array", rawJwt({ alg: "HS256" }, [claims] as never, hmacWith("sha256", LIVEKIT_SECRET))],
  ];
  return cases;
}


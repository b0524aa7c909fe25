/**
 * VAPID (RFC 8292): every push request carries a JWT, signed with our private key, naming the push service it is
 * for (`aud`, the endpoint's origin) and when it expires. The same header is valid for every request to that
 * push service until it expires, so it is signed once per push service and reused for hours: a flare to 10,000
 * phones on FCM signs one JWT, not 10,000.
 */
import webpush from "web-push";

export interface VapidKeys {
  subject: string;
  publicKey: string;
  privateKey: string;
}

/** Lifetime of a signed header (web-push's own default; the spec allows up to 24 h). */
const LIFETIME_SECONDS = 12 * 3600;
/** A header is re-signed when less than this is left, so no request leaves with one about to expire. */
const RENEW_BEFORE_SECONDS = 3600;
/** Endpoints come from browsers; bound the cache however many push services they name. */
const MAX_AUDIENCES = 1000;

interface Entry {
  authorization: string;
  expiresAt: number;
}

export class VapidHeaderCache {
  readonly keys: VapidKeys;
  /** How many JWTs were signed: one per push service per ~11 hours. */
  signed = 0;
  private readonly entries = new Map<string, Entry>();

  constructor(keys: VapidKeys) {
    this.keys = keys;
  }

  /** The `Authorization: vapid t=…, k=…` value for a request to this endpoint. */
  authorizationFor(endpoint: string, nowSeconds: number = Math.floor(Date.now() / 1000)): string {
    const audience = new URL(endpoint).origin;
    const cached = this.entries.get(audience);
    if (cached && cached.expiresAt - nowSeconds > RENEW_BEFORE_SECONDS) return cached.authorization;

    const expiresAt = nowSeconds + LIFETIME_SECONDS;
    const { Authorization } = webpush.getVapidHeaders(
      audience,
      this.keys.subject,
      this.keys.publicKey,
      this.keys.privateKey,
      "aes128gcm",
      expiresAt,
    );
    this.signed++;
    this.entries.delete(audience);
    if (this.entries.size >= MAX_AUDIENCES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(audience, { authorization: Authorization, expiresAt });
    return Authorization;
  }
}

/**
 * verifyJwt remembers tokens it has verified (by their exact text), so a session's repeated requests skip the
 * HMAC. What must still hold for a remembered token: it expires on time, it is valid only under the secret it
 * was verified with, and a token differing in any byte is checked from scratch.
 */
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkHs256, signJwt, verifyJwt } from "../../core/jwt.ts";

const SECRET = "jwt-cache-test-secret-that-is-long-enough-0123";
const USER = "6f1c1f4e-2a55-4f0e-9a4e-5d2b9f1e7c11";

afterEach(() => {
  vi.useRealTimers();
});

describe("verified tokens are remembered, never beyond their validity", () => {
  it("refuses a remembered token once it has expired", async () => {
    const token = await signJwt(SECRET, { sub: USER, role: "authenticated" }, 60);
    expect((await verifyJwt(token, SECRET)).sub).toBe(USER);
    expect((await verifyJwt(token, SECRET)).sub).toBe(USER);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    await expect(verifyJwt(token, SECRET)).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: "token expired" });
  });

  it("refuses a remembered token under any other secret", async () => {
    const token = await signJwt(SECRET, { sub: USER, role: "authenticated" }, 60);
    await verifyJwt(token, SECRET);
    await expect(verifyJwt(token, `${SECRET}-rotated`)).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: "token signature is invalid" });
    expect((await verifyJwt(token, SECRET)).sub).toBe(USER);
  });

  it("checks a token that differs from a remembered one in a single character from scratch", async () => {
    const token = await signJwt(SECRET, { sub: USER, role: "authenticated" }, 60);
    await verifyJwt(token, SECRET);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const flipped = signature.slice(0, -2) + (signature.at(-2) === "A" ? "B" : "A") + signature.at(-1);
    await expect(verifyJwt(`${header}.${payload}.${flipped}`, SECRET)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("gives claims no caller can change for the next request with the same token", async () => {
    const token = await signJwt(SECRET, { sub: USER, role: "authenticated" }, 60);
    const claims = await verifyJwt(token, SECRET);
    expect(() => {
      (claims as { role: string }).role = "service_role";
    }).toThrow(TypeError);
    expect((await verifyJwt(token, SECRET)).role).toBe("authenticated");
  });
});

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** The same bytes in another text: the unused low bits of the last base64url character set (Buffer.from ignores them). */
function withUnusedBitsSet(part: string): string {
  const unused = [0, 0, 4, 2][part.length % 4]!;
  if (unused === 0) throw new Error(`${part.length} characters leave no unused bits`);
  const last = ALPHABET.indexOf(part.at(-1)!);
  const altered = part.slice(0, -1) + ALPHABET[last | ((1 << unused) - 1)];
  expect(Buffer.from(altered, "base64url")).toEqual(Buffer.from(part, "base64url"));
  return altered;
}
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const sign = (text: string) => createHmac("sha256", SECRET).update(text).digest("base64url");

describe("one signed token has exactly one text (canonical base64url)", () => {
  it("refuses a signature whose last character's unused bits are set, though it decodes to the same bytes", async () => {
    const token = await signJwt(SECRET, { sub: USER, role: "authenticated" }, 60);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    expect(signature).toHaveLength(43);
    expect(checkHs256(token, SECRET).sub).toBe(USER);
    const malleated = `${header}.${payload}.${withUnusedBitsSet(signature)}`;
    expect(() => checkHs256(malleated, SECRET)).toThrow(/not canonical base64url/);
    await expect(verifyJwt(malleated, SECRET)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    // Padding and the other alphabet are refused too.
    for (const other of [`${signature}=`, `${signature.slice(0, -1)}+`]) {
      expect(() => checkHs256(`${header}.${payload}.${other}`, SECRET)).toThrow(/malformed/);
    }
  });

  it("refuses a header or payload in non-canonical base64url even when the signature is over that very text", () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    let header = b64({ alg: "HS256", typ: "JWT" });
    let payload = b64({ sub: USER, role: "authenticated", aud: "authenticated", exp });
    // Pad the JSON with spaces until each part's length leaves unused bits.
    for (let i = 1; header.length % 4 === 0 || header.length % 4 === 1; i++) header = Buffer.from(`{"alg":"HS256"${" ".repeat(i)}}`).toString("base64url");
    for (let i = 1; payload.length % 4 === 0 || payload.length % 4 === 1; i++) {
      payload = Buffer.from(JSON.stringify({ sub: USER, role: "authenticated", aud: "authenticated", exp }) + " ".repeat(i)).toString("base64url");
    }
    const canonical = `${header}.${payload}`;
    expect(checkHs256(`${canonical}.${sign(canonical)}`, SECRET).sub).toBe(USER);
    for (const text of [`${withUnusedBitsSet(header)}.${payload}`, `${header}.${withUnusedBitsSet(payload)}`]) {
      expect(() => checkHs256(`${text}.${sign(text)}`, SECRET), text).toThrow(/not canonical base64url/);
    }
  });
});

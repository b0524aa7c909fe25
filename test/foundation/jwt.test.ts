/**
 * verifyJwt remembers tokens it has verified (by their exact text), so a session's repeated requests skip the
 * HMAC. What must still hold for a remembered token: it expires on time, it is valid only under the secret it
 * was verified with, and a token differing in any byte is checked from scratch.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { signJwt, verifyJwt } from "../../core/jwt.ts";

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

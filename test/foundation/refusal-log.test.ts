/**
 * A 401's request log line says why (operator trial L9): after a JWT_SECRET rotation the log showed only
 * `status: 401`. Each edge that refuses a caller (GraphQL, /functions/v1, /auth/v1, the webhook shim) puts a short
 * machine-readable `reason` on the line, decided where the token was judged; the token itself is never logged.
 * A production server in its own process.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../core/jwt.ts";
import { tokenFor } from "../support/members.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("refusals");

async function requestLine(reqId: string): Promise<Record<string, any>> {
  for (let i = 0; i < 100; i++) {
    const line = app.nexus
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, any>)
      .find((l) => l.reqId === reqId && l.msg === "request");
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request line for ${reqId}`);
}

async function call(path: string, init: RequestInit): Promise<Record<string, any>> {
  const res = await fetch(`${app.nexus.baseUrl}${path}`, init);
  await res.text();
  expect(res.status, path).toBe(401);
  return requestLine(res.headers.get("x-request-id")!);
}

const gql = (authorization?: string) =>
  call("/graphql", { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ query: "{ __typename }" }) });

describe("the log line of a 401", () => {
  it("names the reason the edge refused, never the token", async () => {
    const member = randomUUID();
    const rotated = await signJwt("the-jwt-secret-before-the-rotation-0123456789", { sub: member, role: "authenticated" }, 3600);
    const expired = await signJwt(TEST_JWT_SECRET, { sub: member, role: "authenticated" }, -60);
    const cases: [string, Promise<Record<string, any>>][] = [
      ["bad_signature", gql(`Bearer ${rotated}`)],
      ["malformed", gql("Bearer not-a-jwt")],
      ["bad_header", gql("Basic dXNlcjpwYXNz")],
      ["service_role_refused", gql(`Bearer ${await tokenFor(undefined, "service_role")}`)],
      ["bad_signature", call("/functions/v1/livekit-token", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${rotated}` }, body: "{}" })],
      ["no_token", call("/functions/v1/livekit-token", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })],
      ["bad_signature", call("/auth/v1/user", { headers: { authorization: `Bearer ${rotated}`, apikey: rotated } })],
      ["expired", gql(`Bearer ${expired}`)],
      ["no_signature", call("/livekit/webhook", { method: "POST", headers: { "content-type": "application/webhook+json" }, body: "{}" })],
    ];
    for (const [reason, line] of cases) {
      const logged = await line;
      expect(logged, `${logged.method} ${logged.path}`).toMatchObject({ status: 401, reason, level: 30 });
    }
    expect(app.nexus.output()).not.toContain(rotated.split(".")[2]);
  });
});

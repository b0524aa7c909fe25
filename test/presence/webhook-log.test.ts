/**
 * What a refused webhook leaves in the server's log (operator trial L6, M6). Every refusal is still 401 and
 * writes nothing; but a call with no signature at all (internet noise, the runbook's curl, each `npm run doctor`'s
 * probes) is an info line, and only a JWT that fails verification (LiveKit signing with other keys, a rotation
 * half done, a forgery) is a warning, naming the key id it claims (its `iss`, not a secret) and ours. A
 * production server in its own process, its log read as an operator reads it.
 */
import { createHash } from "node:crypto";
import { AccessToken } from "livekit-server-sdk";
import { describe, expect, it } from "vitest";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("webhooklog");

const logLines = () =>
  app.nexus
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, any>);

async function post(authorization: string | undefined, body: string): Promise<{ status: number; reqId: string }> {
  const res = await fetch(`${app.nexus.baseUrl}/livekit/webhook`, {
    method: "POST",
    headers: { "content-type": "application/webhook+json", ...(authorization !== undefined ? { authorization } : {}) },
    body,
  });
  await res.text();
  return { status: res.status, reqId: res.headers.get("x-request-id")! };
}

async function signed(key: string, secret: string, body: string): Promise<string> {
  const token = new AccessToken(key, secret, { ttl: "5m" });
  token.sha256 = createHash("sha256").update(body).digest("base64");
  return token.toJwt();
}

const BODY = JSON.stringify({ event: "participant_joined", room: "test-room", participant: { identity: "doctor", sid: "PA_doctor" } });

/** The server's lines about one request, once its request line is written. */
async function linesOf(reqId: string): Promise<Record<string, any>[]> {
  for (let i = 0; i < 100 && !logLines().some((l) => l.reqId === reqId && l.msg === "request"); i++) await new Promise((r) => setTimeout(r, 20));
  return logLines().filter((l) => l.reqId === reqId);
}

describe("a refused webhook in the server's log", () => {
  it("without a signature (none, or the runbook's placeholder): 401 and an info line, no warning", async () => {
    for (const authorization of [undefined, "YOUR_HMAC_SIGNATURE"]) {
      const { status, reqId } = await post(authorization, BODY);
      expect(status).toBe(401);
      const lines = await linesOf(reqId);
      expect(lines.filter((l) => l.level >= 40), String(authorization)).toEqual([]);
      expect(lines.find((l) => /^webhook rejected/.test(l.msg))).toMatchObject({ level: 30, msg: "webhook rejected: not signed" });
    }
  });

  it("signed with other keys: 401 and a warning naming the key id it claims and ours, never the token", async () => {
    const token = await signed("APIoldkey", "an-old-livekit-secret-an-old-livekit-secret", BODY);
    const { status, reqId } = await post(token, BODY);
    expect(status).toBe(401);
    const warning = (await linesOf(reqId)).find((l) => l.msg === "webhook rejected");
    expect(warning).toMatchObject({ level: 40, reason: "token signature is invalid", claimedKey: "APIoldkey", ourKey: "APIwebhooklog" });
    expect(app.nexus.output()).not.toContain(token.split(".")[2]);
  });

  it("signed with our key but a body that is not the one signed: still a warning", async () => {
    const token = await signed("APIwebhooklog", "webhooklog-livekit-secret-0123456789abcdef", BODY);
    const { status, reqId } = await post(token, BODY.replace("doctor", "someone"));
    expect(status).toBe(401);
    expect((await linesOf(reqId)).find((l) => l.msg === "webhook rejected")).toMatchObject({ level: 40, claimedKey: "APIwebhooklog", reason: "sha256 checksum of body does not match" });
  });
});

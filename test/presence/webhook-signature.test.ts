/**
 * verifyWebhookSignature (node:crypto) against the SDK's WebhookReceiver, token by token: it accepts what the SDK
 * accepts and refuses what the SDK refuses, with one deliberate difference: the SDK lets jose take any HMAC
 * algorithm the secret fits (HS384, HS512), and LiveKit signs with HS256 only, so we refuse the others.
 */
import { WebhookReceiver } from "livekit-server-sdk";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../core/errors.ts";
import { verifyWebhookSignature } from "../../server/presence/rest.ts";
import { LIVEKIT_KEY, LIVEKIT_SECRET, liveKitBody, signWebhook } from "../support/livekit.ts";
import { forgeries } from "../support/webhook-forgeries.ts";

const receiver = new WebhookReceiver(LIVEKIT_KEY, LIVEKIT_SECRET);
const keys = { apiKey: LIVEKIT_KEY, secret: LIVEKIT_SECRET };
const STRICTER_THAN_SDK = new Set(["HS384 under the real secret", "HS512 under the real secret"]);

async function sdkAccepts(body: string, authorization: string | undefined): Promise<boolean> {
  try {
    await receiver.receive(body, authorization);
    return true;
  } catch {
    return false;
  }
}

function weAccept(body: string, authorization: string | undefined): boolean {
  try {
    verifyWebhookSignature(Buffer.from(body), authorization, keys);
    return true;
  } catch (error) {
    // A refusal is always UNAUTHENTICATED, whatever the token looked like.
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("UNAUTHENTICATED");
    return false;
  }
}

describe("webhook signatures, compared with WebhookReceiver", () => {
  const body = liveKitBody("participant_joined", "ops-net", Math.floor(Date.now() / 1000), { identity: "u", sid: "PA_u" });

  it("accepts LiveKit's own signature, as the SDK does", async () => {
    const signed = await signWebhook(body);
    expect(await sdkAccepts(body, signed)).toBe(true);
    expect(weAccept(body, signed)).toBe(true);
  });

  it("agrees with the SDK on every forgery, and is stricter only on HMAC algorithms other than HS256", async () => {
    const verdicts = [];
    for (const [label, authorization] of await forgeries(body)) {
      verdicts.push({ label, sdk: await sdkAccepts(body, authorization), ours: weAccept(body, authorization) });
    }
    for (const v of verdicts) {
      expect(v.ours, `${v.label}: refused by us`).toBe(false);
      expect(v.sdk, `${v.label}: the SDK's verdict`).toBe(STRICTER_THAN_SDK.has(v.label));
    }
  });

  it("hashes the exact bytes received: a body that is not valid UTF-8 is not the body that was signed", async () => {
    const bytes = Buffer.concat([Buffer.from(body.slice(0, -1)), Buffer.from([0xff]), Buffer.from("}")]);
    const signedAsText = await signWebhook(bytes.toString("utf8"));
    expect(() => verifyWebhookSignature(bytes, signedAsText, keys)).toThrow(/sha256/);
  });
});

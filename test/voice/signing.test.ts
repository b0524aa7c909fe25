/**
 * core/livekit/tokens.ts signs LiveKit tokens with node:crypto instead of the SDK's AccessToken: the tokens must
 * be exactly the SDK's, byte for byte, and verify with the SDK's TokenVerifier (what LiveKit itself checks).
 */
import { AccessToken, TokenVerifier } from "livekit-server-sdk";
import { describe, expect, it } from "vitest";
import { signParticipantToken, signRoomAdminToken, type ParticipantGrant } from "../../core/livekit/tokens.ts";

const credentials = { url: "wss://livekit.test.invalid", apiKey: "APIsigning", apiSecret: "signing-test-secret-0123456789abcdef" };

const grants: Record<string, ParticipantGrant> = {
  "a member who may speak": {
    room: "test-room",
    identity: "6f1c1f4e-2a55-4f0e-9a4e-5d2b9f1e7c11",
    name: "Scout One",
    metadata: { userId: "6f1c1f4e-2a55-4f0e-9a4e-5d2b9f1e7c11", rank: "SCOUT", callsign: "Scout One" },
    canSubscribe: true,
    canPublish: true,
    ttlSeconds: 600,
  },
  "a listen-only member": {
    room: "ops-net",
    identity: "0b7e2d36-96f4-4c1a-8a51-1f0f4b6e2d90",
    name: "Vagrant",
    metadata: { userId: "0b7e2d36-96f4-4c1a-8a51-1f0f4b6e2d90", rank: "VAGRANT", callsign: "Vagrant" },
    canSubscribe: true,
    canPublish: false,
    ttlSeconds: 60,
  },
  "a sim pod mentor with room admin and data but no audio": {
    room: "sim-pod-42",
    identity: "mentor",
    name: "Ünïcode “Callsign” 🚀",
    metadata: { note: 'quotes " and \\ backslashes' },
    canSubscribe: true,
    canPublish: false,
    canPublishData: true,
    roomAdmin: true,
    ttlSeconds: 3600,
  },
  "no name and a default TTL": {
    room: "r",
    identity: "u",
    name: "",
    metadata: {},
    canSubscribe: false,
    canPublish: false,
    ttlSeconds: 0,
  },
};

/** The SDK's token for the same grant, and the second it was issued in (exp and nbf from one clock reading). */
async function sdkToken(grant: ParticipantGrant): Promise<{ token: string; issuedAt: number }> {
  for (;;) {
    const accessToken = new AccessToken(credentials.apiKey, credentials.apiSecret, {
      identity: grant.identity,
      name: grant.name,
      metadata: JSON.stringify(grant.metadata),
      ttl: grant.ttlSeconds,
    });
    const video: Record<string, unknown> = {
      room: grant.room,
      roomJoin: true,
      canSubscribe: grant.canSubscribe,
      canPublish: grant.canPublish,
      canPublishData: grant.canPublishData ?? grant.canPublish,
    };
    if (grant.roomAdmin) video.roomAdmin = true;
    accessToken.addGrant(video);
    const token = await accessToken.toJwt();
    const { exp, nbf } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { exp: number; nbf: number };
    // AccessToken reads the clock once for exp and once for nbf; across a second boundary they disagree. Try again.
    if (exp - nbf === (grant.ttlSeconds || 6 * 3600)) return { token, issuedAt: nbf };
  }
}

describe("LiveKit token signing", () => {
  for (const [what, grant] of Object.entries(grants)) {
    it(`signs exactly the SDK's token for ${what}, and the SDK's TokenVerifier accepts it`, async () => {
      const { token: expected, issuedAt } = await sdkToken(grant);
      const signed = signParticipantToken(credentials, grant, issuedAt * 1000 + 999);
      expect(signed.token).toBe(expected);
      const claims = await new TokenVerifier(credentials.apiKey, credentials.apiSecret).verify(signed.token);
      expect(claims.sub).toBe(grant.identity);
      expect(claims.video?.room).toBe(grant.room);
      expect(claims.video?.canPublish).toBe(grant.canPublish);
      expect(claims.metadata).toBe(JSON.stringify(grant.metadata));
      expect(signed.expiresAt.getTime()).toBe((claims.exp as number) * 1000);
    });
  }

  it("signs the room-admin token the SDK's RoomServiceClient would send for a room, byte for byte", async () => {
    for (;;) {
      // What ServiceBase.authHeader({ roomAdmin: true, room }) signs: an AccessToken with that grant and no identity.
      const accessToken = new AccessToken(credentials.apiKey, credentials.apiSecret, { ttl: 600 });
      accessToken.addGrant({ roomAdmin: true, room: "ops" });
      const expected = await accessToken.toJwt();
      const { exp, nbf } = JSON.parse(Buffer.from(expected.split(".")[1]!, "base64url").toString("utf8")) as { exp: number; nbf: number };
      if (exp - nbf !== 600) continue;
      const signed = signRoomAdminToken(credentials, "ops", 600, nbf * 1000 + 500);
      expect(signed.token).toBe(expected);
      const claims = await new TokenVerifier(credentials.apiKey, credentials.apiSecret).verify(signed.token);
      expect(claims.video).toEqual({ roomAdmin: true, room: "ops" });
      expect(claims.sub).toBeUndefined();
      break;
    }
  });

  it("signs with the API secret: a verifier with another secret or API key refuses the token", async () => {
    const { token } = signParticipantToken(credentials, grants["a member who may speak"]!);
    await expect(new TokenVerifier(credentials.apiKey, `${credentials.apiSecret}x`).verify(token)).rejects.toThrow();
    await expect(new TokenVerifier("APIother", credentials.apiSecret).verify(token)).rejects.toThrow();
  });

  it("gives tokens that expire after the TTL: the verifier refuses one issued longer ago than that", async () => {
    const grant = grants["a listen-only member"]!;
    const { token } = signParticipantToken(credentials, grant, Date.now() - (grant.ttlSeconds + 30) * 1000);
    await expect(new TokenVerifier(credentials.apiKey, credentials.apiSecret).verify(token)).rejects.toThrow(/exp/);
  });

  it("refuses to sign a join token without an identity, as the SDK does", () => {
    expect(() => signParticipantToken(credentials, { ...grants["a member who may speak"]!, identity: "" })).toThrow(/identity/);
  });
});

/**
 * A signed-out caller (no JWT, or Supabase's anon key as supabase-js sends it) asking GraphQL for a member's
 * mutation is refused by Postgres's grants; the answer says UNAUTHENTICATED, as REST answers it, not
 * INSUFFICIENT_CLEARANCE, which tells a signed-in member their rank is too low. Against a production-mode server,
 * over HTTP and over graphql-ws.
 */
import { createClient } from "graphql-ws";
import { describe, expect, it } from "vitest";
import { graphql } from "../support/http.ts";
import { createMember, tokenFor } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("anonymous");

const MEMBER_MUTATIONS = [
  `mutation { fireRescueFlare(input: { location: "Stanton", flareType: MEDICAL }) { rescueFlare { id } } }`,
  `mutation { subscribePush(input: { endpoint: "https://fcm.googleapis.com/fcm/send/x", p256dh: "x", auth: "x" }) { clientMutationId } }`,
  `mutation { signOut(input: { scope: "local" }) { revoked } }`,
];

describe("a signed-out caller on GraphQL", () => {
  it("is told to sign in, with no JWT and with the anon key, on each member's mutation and on several in one request", async () => {
    const anonKey = await tokenFor(undefined, "anon");
    for (const token of [undefined, anonKey]) {
      for (const query of MEMBER_MUTATIONS) {
        const { status, body } = await graphql(app.nexus.baseUrl, query, undefined, token);
        expect(status, query).toBe(200);
        expect(body.errors?.map((e) => e.extensions?.code), query).toEqual(["UNAUTHENTICATED"]);
        expect(body.errors?.[0].message).toMatch(/^sign in/);
      }
      const both = await graphql(
        app.nexus.baseUrl,
        `mutation { a: fireRescueFlare(input: { location: "A", flareType: MEDICAL }) { rescueFlare { id } } b: fireRescueFlare(input: { location: "B", flareType: COMBAT }) { rescueFlare { id } } }`,
        undefined,
        token,
      );
      expect(both.body.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED", "UNAUTHENTICATED"]);
    }
  });

  it("leaves a signed-in member's rank refusal as INSUFFICIENT_CLEARANCE", async () => {
    const vagrant = await createMember(app.pool, "VAGRANT");
    const { body } = await graphql(app.nexus.baseUrl, MEMBER_MUTATIONS[0]!, undefined, vagrant.token);
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(["INSUFFICIENT_CLEARANCE"]);
    // A member's token on the very function anon was refused: the grant lets them in, and their rank decides.
    const scout = await createMember(app.pool, "SCOUT");
    const fired = await graphql(app.nexus.baseUrl, MEMBER_MUTATIONS[0]!, undefined, scout.token);
    expect(fired.body.errors).toBeUndefined();
  });

  it("is told the same over graphql-ws, where a member's token on the same socket kind still meets their rank", async () => {
    const vagrant = await createMember(app.pool, "VAGRANT");
    const codesOver = async (token: string | undefined) => {
      const client = createClient({
        url: `${app.nexus.baseUrl.replace("http", "ws")}/graphql`,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
      });
      try {
        const result = await new Promise<{ errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
          let last = {};
          client.subscribe({ query: MEMBER_MUTATIONS[0]! }, { next: (value) => (last = value), error: reject, complete: () => resolve(last) });
        });
        return result.errors?.map((e) => e.extensions?.code);
      } finally {
        await client.dispose();
      }
    };
    expect(await codesOver(undefined)).toEqual(["UNAUTHENTICATED"]);
    expect(await codesOver(await tokenFor(undefined, "anon"))).toEqual(["UNAUTHENTICATED"]);
    expect(await codesOver(vagrant.token)).toEqual(["INSUFFICIENT_CLEARANCE"]);
  });
});

/**
 * Push registrations as an attacker meets them: `node main.ts --server` in production, a member's script calling
 * REST notifications-subscribe and GraphQL subscribePush (plain and aliased) as fast as it can. Each registration
 * takes one from the member's bucket in Postgres (public.subscribe_push → nexus_private.charge_rate_limit,
 * PUSH_REGISTRATION_BURST, PUSH_REGISTRATIONS_PER_HOUR), so every path to the rule meets the same limit.
 */
import { describe, expect, it } from "vitest";
import { createMember } from "../support/members.ts";
import { graphql, rest } from "../support/http.ts";
import { useProductionServer } from "../support/production-server.ts";
import { browserDevice } from "../support/push-devices.ts";

// A bucket of 3, one more every 100 s.
const app = useProductionServer("pushlimits", { PUSH_REGISTRATION_BURST: "3", PUSH_REGISTRATIONS_PER_HOUR: "36" });

const device = browserDevice;

const SUBSCRIBE = `mutation($input: SubscribePushInput!) { subscribePush(input: $input) { pushSubscription { endpoint } } }`;

async function devicesOf(memberId: string) {
  const { rows } = await app.pool.query("select count(*)::int as n from public.push_subscriptions where user_id = $1", [memberId]);
  return rows[0].n as number;
}

describe("push registrations per member (PUSH_REGISTRATION_BURST, PUSH_REGISTRATIONS_PER_HOUR)", () => {
  it("REST: a script rotating endpoints gets the burst, then 429 RATE_LIMITED with Retry-After; bad input is not charged", async () => {
    const m = await createMember(app.pool, "SCOUT");
    for (let i = 0; i < 5; i++) {
      const bad = await rest(app.nexus.baseUrl, "notifications-subscribe", { ...device(), auth: "short" }, m.token);
      expect(bad.status).toBe(400);
    }
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await rest(app.nexus.baseUrl, "notifications-subscribe", device(), m.token));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429, 429]);
    expect(answers[3]!.body).toEqual({
      error: "RATE_LIMITED",
      message: expect.stringMatching(/^too many push registrations: at most 3 at once, then 36 an hour; try again in \d+ seconds$/),
    });
    expect(Number(answers[3]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(90);
    expect(Number(answers[3]!.headers.get("retry-after"))).toBeLessThanOrEqual(100);
    expect(await devicesOf(m.id)).toBe(3);
  });

  it("GraphQL: aliases in one request share the bucket with REST, each refusal extensions RATE_LIMITED with retryAfter", async () => {
    const m = await createMember(app.pool, "SCOUT");
    expect((await rest(app.nexus.baseUrl, "notifications-subscribe", device(), m.token)).status).toBe(200);
    const fields = Array.from({ length: 5 }, (_, i) => `d${i}: subscribePush(input: $d${i}) { pushSubscription { endpoint } }`);
    const query = `mutation(${fields.map((_, i) => `$d${i}: SubscribePushInput!`).join(", ")}) { ${fields.join(" ")} }`;
    const variables = Object.fromEntries(fields.map((_, i) => [`d${i}`, device()]));
    const answer = await graphql(app.nexus.baseUrl, query, variables, m.token);
    expect(answer.status).toBe(200);
    const granted = Object.entries(answer.body.data ?? {}).filter(([, v]) => v !== null).map(([k]) => k);
    expect(granted).toEqual(["d0", "d1"]);
    expect(answer.body.errors).toHaveLength(3);
    for (const error of answer.body.errors!) {
      expect(error.extensions).toEqual({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
    }
    expect(await devicesOf(m.id)).toBe(3);
    const plain = await graphql(app.nexus.baseUrl, SUBSCRIBE, { input: device() }, m.token);
    expect(plain.body.errors?.[0].extensions.code).toBe("RATE_LIMITED");
  });

  it("moving one endpoint back and forth between two accounts stops at each one's burst (and so do its audit rows)", async () => {
    const [a, b] = await Promise.all([createMember(app.pool, "SCOUT"), createMember(app.pool, "SCOUT")]);
    const d = device();
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await rest(app.nexus.baseUrl, "notifications-subscribe", d, (i % 2 ? b : a).token)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    const { rows } = await app.pool.query(
      "select count(*)::int as n from nexus_private.audit_log where action = 'push.subscription_moved' and details->>'subscription_id' = (select id::text from public.push_subscriptions where endpoint = $1)",
      [d.endpoint],
    );
    expect(rows[0].n).toBe(5);
  });

  it("one device under several spellings of its endpoint is one row, paged once", async () => {
    const m = await createMember(app.pool, "SCOUT");
    const d = device();
    const path = new URL(d.endpoint).pathname;
    for (const spelling of [`https://FCM.googleapis.com${path}`, `https://fcm.googleapis.com:443${path}`, `https://Fcm.GoogleApis.com:0443${path}`]) {
      expect((await rest(app.nexus.baseUrl, "notifications-subscribe", { ...d, endpoint: spelling }, m.token)).status).toBe(200);
    }
    const { rows } = await app.pool.query("select endpoint from public.push_subscriptions where user_id = $1", [m.id]);
    expect(rows).toEqual([{ endpoint: `https://fcm.googleapis.com${path}` }]);
  });

  it("one member's empty bucket does not limit another, and unsubscribing is never limited", async () => {
    const [spent, other] = await Promise.all([createMember(app.pool, "SCOUT"), createMember(app.pool, "VOYAGER")]);
    const kept = device();
    expect((await rest(app.nexus.baseUrl, "notifications-subscribe", kept, spent.token)).status).toBe(200);
    for (let i = 0; i < 2; i++) await rest(app.nexus.baseUrl, "notifications-subscribe", device(), spent.token);
    expect((await rest(app.nexus.baseUrl, "notifications-subscribe", device(), spent.token)).status).toBe(429);
    expect((await rest(app.nexus.baseUrl, "notifications-subscribe", device(), other.token)).status).toBe(200);
    const gone = await graphql(
      app.nexus.baseUrl,
      `mutation($e: String!) { unsubscribePush(input: { endpoint: $e }) { unsubscribed } }`,
      { e: kept.endpoint },
      spent.token,
    );
    expect(gone.body).toEqual({ data: { unsubscribePush: { unsubscribed: true } } });
  });
});

/** Push devices for tests: a browser's PushSubscription, and a member with a device on the local push service. */
import { createECDH, randomBytes } from "node:crypto";
import { expect } from "vitest";
import { createMember, type Member, type Rank } from "./members.ts";
import type { Behaviour, PushService, Subscriber } from "./push-service.ts";
import type { TestServer } from "./server.ts";

/** What a browser's PushSubscription.toJSON() gives, on a push service at `host` nothing answers for. */
export function browserDevice(host = "fcm.googleapis.com"): { endpoint: string; p256dh: string; auth: string } {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return {
    endpoint: `https://${host}/fcm/send/${randomBytes(12).toString("base64url")}`,
    p256dh: ecdh.getPublicKey().toString("base64url"),
    auth: randomBytes(16).toString("base64url"),
  };
}

/** A member with one device on the local push service, subscribed through GraphQL as the frontend does. */
export async function memberWithDevice(
  t: TestServer,
  service: PushService,
  behaviour: Behaviour,
  rank: Rank = "AFFILIATE",
): Promise<{ member: Member; device: Subscriber }> {
  const member = await createMember(t.pool, rank);
  const device = service.subscribe(behaviour);
  const res = await t.graphql(
    `mutation($input: SubscribePushInput!) { subscribePush(input: $input) { pushSubscription { endpoint } } }`,
    { input: { endpoint: device.endpoint, p256dh: device.p256dh, auth: device.auth } },
    member.token,
  );
  expect(res.body.errors).toBeUndefined();
  return { member, device };
}

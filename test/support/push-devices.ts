/** A member with one device on the local push service, subscribed through GraphQL as the frontend does. */
import { expect } from "vitest";
import { createMember, type Member, type Rank } from "./members.ts";
import type { Behaviour, PushService, Subscriber } from "./push-service.ts";
import type { TestServer } from "./server.ts";

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

/**
 * `voicePresenceChanged(netId)`: a GraphQL subscription (graphql-ws on /graphql) that pushes joins and leaves on
 * one net. Subscribing asks the database whether the caller may join the net (public.can_join_net, the same rule
 * as voice tokens): INSUFFICIENT_CLEARANCE otherwise. Each event carries the presence row, read through RLS.
 * Events come from the NOTIFY trigger on voice_presence (channel `nexus:presence:<netId>`).
 *
 * Clearance can change while subscribed (live rights, docs/live-permissions.md): before each event, and when the
 * database announces a change that may move it (RIGHTS on the net's channel, or on `nexus:voice-rights:<member>`
 * for the subscriber), the same question is asked again; once the answer is no, the subscription ends with
 * INSUFFICIENT_CLEARANCE and sends nothing more. A subscriber whose token is no longer in force by then (its session
 * ended, its exp passed) is anon to that question, and the subscription ends with UNAUTHENTICATED.
 */
import { loadOneWithPgClient, type WithPgClient } from "postgraphile/@dataplan/pg";
import { jsonParse } from "postgraphile/@dataplan/json";
import { context, lambda, listen, SafeError, type GrafastSubscriber } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";

/**
 * The subscriptions this server holds open: each keeps listeners on the PgSubscriber (the net's channel and the
 * subscriber's rights channel) until it ends. /metrics shows the count (nexus_presence_subscriptions): it is this
 * process's own, unlike the database figures there.
 */
export class LiveSubscriptions {
  count = 0;
}

const CAN_JOIN = "select public.can_join_net($1::uuid) as allowed, auth.uid() is not null as signed_in";

/** The subscriber's member id, from the verified claims the request runs with. */
function memberOf(pgSettings: Record<string, string> | null | undefined): string | undefined {
  try {
    const sub = JSON.parse(pgSettings?.["request.jwt.claims"] ?? "{}").sub;
    return typeof sub === "string" && sub !== "" ? sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The net's events, and the subscriber's own rights announcements, passed on only while the database still says
 * the subscriber may join the net. Rights announcements themselves are never passed on.
 */
function guardedSubscriber(
  subscriber: GrafastSubscriber,
  withPgClient: WithPgClient,
  pgSettings: Record<string, string> | null,
  netId: string,
  live: LiveSubscriptions,
): GrafastSubscriber {
  const member = memberOf(pgSettings);
  const stillAllowed = async () =>
    withPgClient(pgSettings, async (client) => {
      const { rows } = await client.query<{ allowed: boolean; signed_in: boolean }>({ text: CAN_JOIN, values: [netId] });
      // A member's token that is no longer in force (session ended, exp passed: auth.claimed_sub()) is anon.
      if (member && rows[0]?.signed_in !== true) {
        throw new SafeError("your session has ended or its token has expired: sign in again", { code: "UNAUTHENTICATED" });
      }
      return rows[0]?.allowed === true;
    });
  return {
    async *subscribe(topic: string) {
      const topics = member ? [topic, `nexus:voice-rights:${member}`] : [topic];
      const sources = await Promise.all(topics.map(async (t) => (await subscriber.subscribe(t))[Symbol.asyncIterator]()));
      live.count++;
      const pending = new Map<number, Promise<{ i: number; result: IteratorResult<unknown> }>>();
      const pull = (i: number) => pending.set(i, sources[i]!.next().then((result) => ({ i, result })));
      sources.forEach((_, i) => pull(i));
      try {
        while (pending.size > 0) {
          const { i, result } = await Promise.race(pending.values());
          pending.delete(i);
          if (result.done) continue;
          pull(i);
          if (!(await stillAllowed())) {
            throw new SafeError("you may no longer join this net", { code: "INSUFFICIENT_CLEARANCE" });
          }
          const kind = (() => {
            try {
              return JSON.parse(String(result.value)).event;
            } catch {
              return undefined;
            }
          })();
          if (kind === "JOINED" || kind === "LEFT") yield result.value;
        }
      } finally {
        await Promise.all(sources.map((source) => source.return?.().catch(() => undefined)));
        live.count--;
      }
    },
  } as GrafastSubscriber;
}

export function presenceSubscriptionPlugin(live: LiveSubscriptions) {
  return extendSchema((build) => {
    const executor = build.input.pgRegistry.pgExecutors.main!;
    const presence = build.input.pgRegistry.pgResources.voice_presence!;
    return {
      typeDefs: gql`
        enum VoicePresenceEventKind {
          JOINED
          LEFT
        }
        type VoicePresenceEvent {
          event: VoicePresenceEventKind!
          netId: UUID!
          "The presence row, as the subscriber may see it (null if that is no longer allowed)."
          voicePresence: VoicePresence
        }
        extend type Subscription {
          "Joins and leaves on a net you may join, as they happen."
          voicePresenceChanged(netId: UUID!): VoicePresenceEvent
        }
      `,
      objects: {
        Subscription: {
          plans: {
            voicePresenceChanged: {
              subscribePlan(_$root, fieldArgs) {
                const $netId = fieldArgs.getRaw("netId");
                const $topic = loadOneWithPgClient(executor, $netId, async (client, netIds) =>
                  Promise.all(
                    netIds.map(async (netId) => {
                      const { rows } = await client.query<{ allowed: boolean }>({ text: CAN_JOIN, values: [netId] });
                      if (!rows[0]?.allowed) {
                        throw new SafeError("you may not join this net", { code: "INSUFFICIENT_CLEARANCE" });
                      }
                      return `nexus:presence:${netId}`;
                    }),
                  ),
                );
                const $subscriber = lambda(
                  [context().get("pgSubscriber"), context().get("withPgClient"), context().get("pgSettings"), $netId],
                  ([subscriber, withPgClient, pgSettings, netId]) =>
                    guardedSubscriber(
                      subscriber as GrafastSubscriber,
                      withPgClient as WithPgClient,
                      (pgSettings ?? null) as Record<string, string> | null,
                      netId as string,
                      live,
                    ),
                );
                return listen($subscriber, $topic, jsonParse);
              },
              plan($event) {
                return $event;
              },
            },
          },
        },
        VoicePresenceEvent: {
          plans: {
            event($e: any) {
              return $e.get("event");
            },
            netId($e: any) {
              return $e.get("netId");
            },
            voicePresence($e: any) {
              return presence.get({ id: lambda($e.get("id"), (id) => id as string) });
            },
          },
        },
      },
    };
  }, "NexusPresenceSubscriptionPlugin");
}

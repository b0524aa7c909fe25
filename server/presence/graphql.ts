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
 * ended, its exp passed) is anon to that question, and the subscription ends with UNAUTHENTICATED. That question
 * is asked once per event for all of one subscriber's subscriptions to the net (subscriptions.ts).
 */
import { loadOneWithPgClient, type WithPgClient } from "postgraphile/@dataplan/pg";
import { jsonParse } from "postgraphile/@dataplan/json";
import { context, lambda, listen, SafeError, type GrafastSubscriber } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import { CAN_JOIN, type PresenceSubscriptions } from "./subscriptions.ts";

export function presenceSubscriptionPlugin(subscriptions: PresenceSubscriptions) {
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
                    subscriptions.subscriber(
                      subscriber as GrafastSubscriber,
                      withPgClient as WithPgClient,
                      (pgSettings ?? null) as Record<string, string> | null,
                      netId as string,
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

/**
 * GraphQL `acceptTraining` and `joinSimPod`: Postgres decides (public.accept_training, public.join_sim_pod), this
 * plugin only signs what they return. The rest of the academy needs no code: PostGraphile exposes the SQL
 * functions as requestTraining, cancelTraining, completeTraining, certifyMentor, revokeMentorCertification and
 * the query openTrainingRequests, and the tables as skills, mentorCertifications, academyRequests and simPods.
 */
import { lambda } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Config } from "../../core/config.ts";
import type { AsCaller } from "../../core/database/caller.ts";
import { sideEffectAsCaller } from "../graphql/caller.ts";
import { acceptTraining, loadSimPodGrant, signAcceptance, signSimPodToken } from "./tokens.ts";

export function academyPlugin(config: Config, asCaller: AsCaller) {
  return extendSchema(() => {
    return {
      typeDefs: gql`
        input AcceptTrainingInput {
          "The PENDING training request to take."
          requestId: UUID!
        }
        input JoinSimPodInput {
          "The sim pod's id (sim-pod-…), from acceptTraining or the cadet's SIM_POD_READY push."
          simPodId: String!
        }
        "A LiveKit token for one member in one sim pod's room."
        type SimPodToken {
          simPodId: String!
          requestId: UUID!
          "CADET or MENTOR."
          participant: String!
          "The LiveKit participant identity: the member's user id."
          identity: String!
          roomName: String!
          serverUrl: String!
          token: String!
          canPublish: Boolean!
          canSubscribe: Boolean!
          "The mentor administers the pod's room (mute, remove); the cadet does not."
          roomAdmin: Boolean!
          "When the token stops admitting new connections: LIVEKIT_TOKEN_TTL, or the pod's expiry if sooner."
          expiresAt: Datetime!
          "When the pod stops handing out tokens."
          podExpiresAt: Datetime!
        }
        type AcceptTrainingPayload {
          simPodId: String!
          requestId: UUID!
          roomName: String!
          "When the pod stops handing out tokens."
          expiresAt: Datetime!
          """
          The caller's own token for the pod's room: one entry, the mentor's. The cadet's token is never handed to
          the mentor; the cadet is paged (SIM_POD_READY) and calls joinSimPod.
          """
          connectionTokens: [SimPodToken!]!
        }
        extend type Mutation {
          """
          Accept a PENDING training request as a mentor certified for its skill (not your own request). Of mentors
          accepting at once one wins; the others get CONFLICT. Makes the sim pod and pages the cadet.
          Errors: INSUFFICIENT_CLEARANCE, NOT_FOUND, CONFLICT, LIVEKIT_NOT_CONFIGURED.
          """
          acceptTraining(input: AcceptTrainingInput!): AcceptTrainingPayload
          """
          Your token for a sim pod's room, as its cadet or its mentor. Anyone else: INSUFFICIENT_CLEARANCE; an
          expired or closed pod: NOT_FOUND.
          """
          joinSimPod(input: JoinSimPodInput!): SimPodToken
        }
      `,
      objects: {
        Mutation: {
          plans: {
            // The database decides (and commits) inside the transaction; signing happens after it is released.
            acceptTraining(_, fieldArgs) {
              const $grant = sideEffectAsCaller(asCaller, fieldArgs.getRaw(["input", "requestId"]), (requestId: string, run) =>
                acceptTraining(run, config, requestId),
              );
              return lambda($grant, (grant) => signAcceptance(config, grant));
            },
            joinSimPod(_, fieldArgs) {
              const $grant = sideEffectAsCaller(asCaller, fieldArgs.getRaw(["input", "simPodId"]), (simPodId: string, run) =>
                loadSimPodGrant(run, config, simPodId),
              );
              return lambda($grant, (grant) => signSimPodToken(config, grant));
            },
          },
        },
      },
    };
  }, "NexusAcademyPlugin");
}

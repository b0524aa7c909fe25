/**
 * GraphQL `issueVoiceToken` and `issueVoiceTokens`. Postgres decides (public.issue_voice_grants); this plugin only
 * signs what it returns. `linkVoiceNets` / `unlinkVoiceNets` need no code: PostGraphile exposes the SQL functions
 * public.link_voice_nets / public.unlink_voice_nets as mutations of those names.
 */
import { lambda } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Config } from "../../core/config.ts";
import type { AsCaller } from "../../core/database/caller.ts";
import { ApiError } from "../../core/errors.ts";
import { sideEffectAsCaller } from "../graphql/caller.ts";
import { loadVoiceGrants, signVoiceToken, signVoiceTokens } from "./tokens.ts";

interface IssueVoiceTokenInput {
  netId?: string | null;
  roomName?: string | null;
}

interface IssueVoiceTokensInput {
  netIds?: string[] | null;
  roomNames?: string[] | null;
}

function oneNet(input: IssueVoiceTokenInput): string {
  const named = [input.netId, input.roomName].filter((v): v is string => typeof v === "string" && v !== "");
  if (named.length !== 1) throw new ApiError("BAD_REQUEST", "name exactly one of netId or roomName");
  return named[0]!;
}

/**
 * `asCaller` runs the decision in one round trip with the request's pgSettings (role, JWT claims), like
 * sideEffectWithPgClient but without its begin/set_config/commit round trips.
 */
export function voicePlugin(config: Config, asCaller: AsCaller) {
  return extendSchema(() => {
    return {
      typeDefs: gql`
        input IssueVoiceTokenInput {
          "The net's id; or give roomName instead."
          netId: UUID
          "The net's LiveKit room name; or give netId instead."
          roomName: String
        }
        input IssueVoiceTokensInput {
          netIds: [UUID!]
          roomNames: [String!]
        }
        "A LiveKit token for a net bridged to the one asked for, with the caller's own rights there."
        type BridgedVoiceToken {
          netId: UUID!
          netName: String!
          roomName: String!
          token: String!
          canPublish: Boolean!
          canSubscribe: Boolean!
          expiresAt: Datetime!
        }
        "A LiveKit access token for one voice net. canPublish = may transmit, canSubscribe = may hear."
        type VoiceToken {
          netId: UUID!
          netName: String!
          token: String!
          serverUrl: String!
          roomName: String!
          "The LiveKit participant identity: the caller's user id."
          identity: String!
          canPublish: Boolean!
          canSubscribe: Boolean!
          expiresAt: Datetime!
          "Tokens for the nets bridged to this one that the caller may hear."
          bridged: [BridgedVoiceToken!]!
        }
        type VoiceTokenError {
          "INSUFFICIENT_CLEARANCE, NOT_FOUND, or RATE_LIMITED (the LiveKit token bucket ran out before this net)."
          code: String!
          message: String!
        }
        "One net of a batch: a token, or why not."
        type VoiceTokenResult {
          "The net as it was named in the request (id or room name)."
          requested: String!
          netId: UUID
          roomName: String
          voiceToken: VoiceToken
          error: VoiceTokenError
        }
        type IssueVoiceTokensPayload {
          "One result per requested net, in request order."
          results: [VoiceTokenResult!]!
        }
        extend type Mutation {
          """
          A LiveKit token for one voice net (by netId or roomName), with tokens for bridged nets the caller may hear.
          Errors: INSUFFICIENT_CLEARANCE (may not join), NOT_FOUND, LIVEKIT_NOT_CONFIGURED.
          """
          issueVoiceToken(input: IssueVoiceTokenInput!): VoiceToken
          "Tokens for several nets in one call: a token per net the caller may join, a per-net error for the others."
          issueVoiceTokens(input: IssueVoiceTokensInput!): IssueVoiceTokensPayload
        }
      `,
      objects: {
        Mutation: {
          plans: {
            // The database decides inside the transaction; signing happens after the connection is released.
            issueVoiceToken(_, fieldArgs) {
              const $grants = sideEffectAsCaller(asCaller, fieldArgs.getRaw("input"), (input: IssueVoiceTokenInput, run) =>
                loadVoiceGrants(run, config, [oneNet(input)]),
              );
              return lambda($grants, (rows) => signVoiceToken(config, rows));
            },
            issueVoiceTokens(_, fieldArgs) {
              const $grants = sideEffectAsCaller(asCaller, fieldArgs.getRaw("input"), (input: IssueVoiceTokensInput, run) =>
                loadVoiceGrants(run, config, [...(input.netIds ?? []), ...(input.roomNames ?? [])]),
              );
              return lambda($grants, (rows) => ({ results: signVoiceTokens(config, rows) }));
            },
          },
        },
      },
    };
  }, "NexusVoicePlugin");
}

/**
 * GraphQL `register`, `authenticate`, `refreshSession` and `signOut`: the same SQL functions and the same helper
 * (server/accounts/sessions.ts) as the /auth/v1 routes. `jwtToken` is the short access token (JWT_TTL);
 * `refreshToken` gets the next one from `refreshSession`.
 */
import { context, sideEffect } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { Accounts, ClientInfo, SessionGrant } from "./sessions.ts";

declare global {
  namespace Grafast {
    interface Context {
      /** The client's address (as TRUST_PROXY allows) and user agent, for the sign-up limit and session rows. */
      nexusClient?: ClientInfo;
    }
  }
}

interface Credentials {
  email: string;
  password: string;
  callsign?: string;
}

function payload(grant: SessionGrant) {
  return {
    jwtToken: grant.accessToken,
    userId: grant.account.id,
    refreshToken: grant.refreshToken,
    sessionId: grant.sessionId,
    expiresAt: new Date(grant.expiresAt * 1000).toISOString(),
  };
}

const NO_CLIENT: ClientInfo = { address: undefined, userAgent: undefined };

export function accountsPlugin(accounts: Accounts) {
  return extendSchema(() => {
    return {
      typeDefs: gql`
        input RegisterInput {
          email: String!
          password: String!
          callsign: String!
        }
        input AuthenticateInput {
          email: String!
          password: String!
        }
        input RefreshSessionInput {
          refreshToken: String!
        }
        input SignOutInput {
          "local (this session, the default), global (every session of yours) or others (all but this one)."
          scope: String
        }
        "A signed-in session."
        type SessionPayload {
          "A short-lived access JWT (HS256, JWT_TTL); send it as Authorization: Bearer <jwtToken>."
          jwtToken: String!
          userId: UUID!
          "Opaque; exchange it with refreshSession for the next jwtToken. Each one works once (plus 10 s)."
          refreshToken: String!
          sessionId: UUID!
          "When jwtToken expires."
          expiresAt: Datetime!
        }
        type SignOutPayload {
          "How many sessions ended."
          revoked: Int!
        }
        extend type Mutation {
          "Create an account (rank VAGRANT) and sign in."
          register(input: RegisterInput!): SessionPayload
          "Sign in with email and password. Wrong credentials: UNAUTHENTICATED; too many wrong ones: RATE_LIMITED."
          authenticate(input: AuthenticateInput!): SessionPayload
          "Exchange a refresh token for a new access token and refresh token."
          refreshSession(input: RefreshSessionInput!): SessionPayload
          "End this session (or, with scope, all or all other sessions of yours)."
          signOut(input: SignOutInput): SignOutPayload
        }
      `,
      objects: {
        Mutation: {
          plans: {
            register(_, fieldArgs) {
              const $ctx = context();
              return sideEffect(
                [fieldArgs.getRaw("input"), $ctx.get("pgSettings"), $ctx.get("nexusClient")],
                async ([input, pgSettings, client]) => {
                  const { email, password, callsign } = input as Credentials;
                  return payload(await accounts.register(pgSettings ?? {}, { email, password, callsign: callsign! }, client ?? NO_CLIENT));
                },
              );
            },
            authenticate(_, fieldArgs) {
              const $ctx = context();
              return sideEffect(
                [fieldArgs.getRaw("input"), $ctx.get("pgSettings"), $ctx.get("nexusClient")],
                async ([input, pgSettings, client]) => {
                  const { email, password } = input as Credentials;
                  return payload(await accounts.signIn(pgSettings ?? {}, { email, password }, client ?? NO_CLIENT));
                },
              );
            },
            refreshSession(_, fieldArgs) {
              return sideEffect([fieldArgs.getRaw("input"), context().get("pgSettings")], async ([input, pgSettings]) =>
                payload(await accounts.refresh(pgSettings ?? {}, (input as { refreshToken: string }).refreshToken)),
              );
            },
            signOut(_, fieldArgs) {
              return sideEffect([fieldArgs.getRaw("input"), context().get("pgSettings")], async ([input, pgSettings]) => ({
                revoked: await accounts.signOut(pgSettings ?? {}, (input as { scope?: string | null } | null)?.scope ?? "local"),
              }));
            },
          },
        },
      },
    };
  }, "NexusAccountsPlugin");
}

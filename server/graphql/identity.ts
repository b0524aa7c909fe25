/**
 * `register` and `authenticate`: the database checks the credentials (auth.register / auth.authenticate), this
 * plugin only signs the JWT for the user id it gets back.
 */
import { sideEffectWithPgClient } from "postgraphile/@dataplan/pg";
import { extendSchema, gql } from "postgraphile/utils";
import { signJwt } from "../../core/jwt.ts";
import type { Config } from "../../core/config.ts";

interface Credentials {
  email: string;
  password: string;
  callsign?: string;
}

export function identityPlugin(config: Config) {
  const sign = (userId: string) => signJwt(config.jwt.secret, { sub: userId, role: "authenticated" }, config.jwt.ttlSeconds);
  return extendSchema((build) => {
    const executor = build.input.pgRegistry.pgExecutors.main!;
    return {
      typeDefs: gql`
        input RegisterInput {
          email: String!
          password: String!
          callsign: String!
        }
        type RegisterPayload {
          "A JWT (HS256) for the new member; send it as Authorization: Bearer <jwtToken>."
          jwtToken: String!
          userId: UUID!
        }
        input AuthenticateInput {
          email: String!
          password: String!
        }
        type AuthenticatePayload {
          jwtToken: String!
          userId: UUID!
        }
        extend type Mutation {
          "Create an account (rank VAGRANT) and sign in."
          register(input: RegisterInput!): RegisterPayload
          "Sign in with email and password. Wrong credentials: UNAUTHENTICATED."
          authenticate(input: AuthenticateInput!): AuthenticatePayload
        }
      `,
      objects: {
        Mutation: {
          plans: {
            register(_, fieldArgs) {
              return sideEffectWithPgClient(executor, fieldArgs.getRaw("input"), async (client, input: Credentials) => {
                const { rows } = await client.query<{ id: string }>({
                  text: "select auth.register($1, $2, $3) as id",
                  values: [input.email, input.password, input.callsign],
                });
                const userId = rows[0]!.id;
                return { userId, jwtToken: await sign(userId) };
              });
            },
            authenticate(_, fieldArgs) {
              return sideEffectWithPgClient(executor, fieldArgs.getRaw("input"), async (client, input: Credentials) => {
                const { rows } = await client.query<{ id: string }>({
                  text: "select auth.authenticate($1, $2) as id",
                  values: [input.email, input.password],
                });
                const userId = rows[0]!.id;
                return { userId, jwtToken: await sign(userId) };
              });
            },
          },
        },
      },
    };
  }, "NexusIdentityPlugin");
}

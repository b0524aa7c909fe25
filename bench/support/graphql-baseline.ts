/**
 * A bare GraphQL baseline for bench/voice-token.ts: the same work as voice-baseline.ts (bench/support/
 * baseline-token.ts: one pg query for the member, one LiveKit signature) behind grafserv's node handler and grafast,
 * with a hand-written one-field schema: no PostGraphile, no JWT check, no RLS, no rules, no middleware of ours. It
 * prices what grafserv and grafast cost per request on their own, so the gap between issueVoiceToken and the bare
 * node:http baseline can be split into the GraphQL machinery's share and ours. The member comes from
 * `Authorization: Bearer <user id>`, unverified, as the node:http baseline takes it from the body; the document is
 * the same as the real bench's.
 * Run as its own process: `node bench/support/graphql-baseline.ts` with DATABASE_URL, PORT and LIVEKIT_* set.
 */
import http from "node:http";
import { context, lambda, makeGrafastSchema, sideEffect, type Step } from "postgraphile/grafast";
import { grafserv } from "postgraphile/grafserv/node";
import { BASELINE_TOKEN_TTL_SECONDS, baselineToken, endBaselinePool } from "./baseline-token.ts";

interface Minted {
  token: string;
  canPublish: boolean;
  expiresAt: string;
}

async function mint(userId: string, roomName: string): Promise<Minted> {
  const token = await baselineToken(userId, roomName);
  return { token, canPublish: true, expiresAt: new Date(Date.now() + BASELINE_TOKEN_TTL_SECONDS * 1000).toISOString() };
}

const schema = makeGrafastSchema({
  typeDefs: /* GraphQL */ `
    input IssueVoiceTokenInput {
      roomName: String
    }
    type VoiceToken {
      token: String!
      canPublish: Boolean!
      expiresAt: String!
    }
    type Query {
      ok: Boolean
    }
    type Mutation {
      issueVoiceToken(input: IssueVoiceTokenInput!): VoiceToken
    }
  `,
  objects: {
    Query: { plans: { ok: () => lambda(null, () => true) } },
    Mutation: {
      plans: {
        issueVoiceToken(_, fieldArgs) {
          // The member rides in grafast's context, as the real server's claims do (not a key of its typed Context).
          const $userId = (context() as unknown as { get(key: string): Step }).get("userId");
          return sideEffect([$userId, fieldArgs.getRaw(["input", "roomName"])], ([userId, roomName]) => mint(userId as string, roomName as string));
        },
      },
    },
  },
});

const serv = grafserv({
  schema,
  preset: {
    grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false, websockets: false },
    grafast: {
      explain: false,
      context: ((requestContext: { node?: { req: http.IncomingMessage } }) => ({
        userId: (requestContext.node?.req.headers.authorization ?? "").slice("Bearer ".length),
      })) as never,
    },
  },
});
const handler = serv.createHandler();

const server = http.createServer((req, res) => {
  void handler(req, res, () => {
    res.writeHead(404).end();
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  server.close();
  void Promise.all([serv.release(), endBaselinePool()]).then(() => process.exit(0));
});

/**
 * A bare GraphQL baseline for bench/voice-token.ts: the same work as voice-baseline.ts (bench/support/
 * baseline-token.ts: one pg query for the member, one LiveKit signature) behind grafserv's node handler and grafast,
 * with a hand-written one-field schema: no PostGraphile, no JWT check, no RLS, no rules, no middleware of ours. It
 * prices what grafserv and grafast cost per request on their own, so the gap between issueVoiceToken and the bare
 * node:http baseline can be split into the GraphQL machinery's share and ours. The member comes from
 * `Authorization: Bearer <user id>`, unverified, as the node:http baseline takes it from the body; the document is
 * the same as the real bench's.
 * Run as its own process: `node bench/support/graphql-baseline.ts` with DATABASE_URL, PORT and LIVEKIT_* set.
 *
 * `--grafast-only`: the same schema and work with no grafserv: node:http reads the JSON body, a Map keeps each
 * query's parsed and validated document (grafserv keeps them in an LRU), and grafast's execute() runs it. It prices
 * grafserv's share of the GraphQL machinery: what a lighter GraphQL path that kept grafast could save at most.
 */
import http from "node:http";
import { parse, validate, type DocumentNode, type GraphQLError } from "postgraphile/graphql";
import { context, execute, lambda, makeGrafastSchema, sideEffect, stringifyPayload, type Step } from "postgraphile/grafast";
import { grafserv } from "postgraphile/grafserv/node";
import { resolvePreset } from "graphile-config";
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

const preset = {
  grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false, websockets: false },
  grafast: {
    explain: false,
    context: ((requestContext: { node?: { req: http.IncomingMessage } }) => ({
      userId: (requestContext.node?.req.headers.authorization ?? "").slice("Bearer ".length),
    })) as never,
  },
};

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function grafservHandler(): { handle: Handler; release(): Promise<void> } {
  const serv = grafserv({ schema, preset });
  const handler = serv.createHandler();
  return {
    handle: (req, res) => void handler(req, res, () => res.writeHead(404).end()),
    release: () => serv.release(),
  };
}

function grafastOnlyHandler(): { handle: Handler; release(): Promise<void> } {
  const resolvedPreset = resolvePreset({ grafast: { explain: false } });
  const documents = new Map<string, { document?: DocumentNode; errors?: readonly GraphQLError[] }>();
  const documentOf = (query: string) => {
    let found = documents.get(query);
    if (!found) {
      const document = parse(query);
      const errors = validate(schema, document);
      found = errors.length ? { errors } : { document };
      documents.set(query, found);
    }
    return found;
  };
  const answer = (res: http.ServerResponse, status: number, body: string) =>
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) }).end(body);
  const handle: Handler = (req, res) => {
    if (req.method !== "POST" || req.url !== "/graphql") return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { query: string; variables?: Record<string, unknown> };
        const { document, errors } = documentOf(body.query);
        if (!document) return answer(res, 400, JSON.stringify({ errors }));
        const result = await execute({
          schema,
          document,
          variableValues: body.variables,
          contextValue: { userId: (req.headers.authorization ?? "").slice("Bearer ".length) },
          resolvedPreset,
          requestContext: { node: { req, res } },
          outputDataAsString: true,
        } as never);
        answer(res, 200, stringifyPayload(result as never, true));
      })().catch((error: unknown) => answer(res, 500, JSON.stringify({ errors: [{ message: String(error) }] })));
    });
  };
  return { handle, release: async () => undefined };
}

const { handle, release } = process.argv.includes("--grafast-only") ? grafastOnlyHandler() : grafservHandler();
const server = http.createServer(handle);
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  server.close();
  void Promise.all([release(), endBaselinePool()]).then(() => process.exit(0));
});

/**
 * PostGraphile v5: the GraphQL API is generated from the `public` schema (tables, RLS, functions); the plugins
 * listed here add the few fields that must sign something in TypeScript after the database has decided.
 */
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";
import type { Pool } from "pg";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { authenticateRequest, edgeAuth } from "../auth.ts";
import { clientAddressOf } from "../http.ts";
import { configPgSettings, pgSettingsFor } from "../../core/jwt.ts";
import type { Config } from "../../core/config.ts";
import { PersistedPlugin } from "@grafserv/persisted";
import { loadPersistedOperations } from "./persisted.ts";
import { GRAPHQL_PATH } from "./edge.ts";
import { makeMaskError } from "./errors.ts";
import { MAX_DEPTH, MAX_REQUEST_BYTES, queryLimitsPlugin } from "./limits.ts";
import { PlainIdsPlugin } from "./plain-ids.ts";
import { RateLimitedStatusPlugin } from "./rate-limited-status.ts";
import { UpdateNotFoundPlugin } from "./update-not-found.ts";
import type { Logger } from "../../core/log.ts";

export interface PresetOptions {
  config: Config;
  pool: Pool;
  log: Logger;
  /** Capability modules' plugins (server/modules.ts). */
  plugins?: GraphileConfig.Plugin[];
}

export function makePreset({ config, pool, log, plugins = [] }: PresetOptions): GraphileConfig.Preset {
  const clientAddress = clientAddressOf(config.trustProxy, log);
  return {
    extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
    // QueryLimitsPlugin first: its middleware wraps the others' (it gives grafserv's and the persisted
    // operations' refusals their code).
    plugins: [
      queryLimitsPlugin(config.statementTimeoutMs),
      ...(config.persistedOperationsDir ? [PersistedPlugin] : []),
      PlainIdsPlugin,
      RateLimitedStatusPlugin,
      UpdateNotFoundPlugin,
      ...plugins,
    ],
    // Row ids stay plain uuids called `id`, as the Supabase tables and the runbook's SQL name them, rather than
    // Relay global object ids.
    disablePlugins: ["NodePlugin"],
    pgServices: [makePgService({ pool, schemas: ["public"] })],
    grafast: {
      explain: false,
      // Planning is synchronous (it blocks the event loop). The execution timeout (STATEMENT_TIMEOUT_MS) is
      // given to queries and mutations only, by limits.ts: here it would also end subscriptions.
      timeouts: { planning: 500 },
      // The validation rules (limits.ts) refuse deep documents first; a planning layer is 1–3 per level.
      maxPlanningDepth: MAX_DEPTH * 6,
      async context(requestContext) {
        // HTTP: the GraphQL edge (server/graphql/edge.ts) has already verified the JWT; a bad one never gets here.
        const req = requestContext.node?.req;
        if (req?.nexusAuth) return { pgSettings: req.nexusAuth.pgSettings, nexusClient: req.nexusClient };
        // WebSocket (subscriptions): the JWT comes in graphql-ws connectionParams ({ authorization: "Bearer …" }).
        const ws = requestContext.ws;
        if (ws) {
          const header = ws.normalizedConnectionParams?.authorization ?? ws.request?.headers?.authorization;
          const auth = await authenticateRequest(Array.isArray(header) ? header[0] : header, edgeAuth(config));
          // The upgrade request's address, as on HTTP: sign-ups over a WebSocket count per client address too,
          // not all in one bucket.
          const upgrade = ws.request as import("node:http").IncomingMessage | undefined;
          const nexusClient = upgrade ? { address: clientAddress(upgrade), userAgent: upgrade.headers["user-agent"] } : undefined;
          return { pgSettings: auth.pgSettings, nexusClient };
        }
        return { pgSettings: pgSettingsFor(null, configPgSettings(config)) };
      },
    },
    grafserv: {
      graphqlPath: GRAPHQL_PATH,
      graphiqlPath: "/graphiql",
      // Ruru is off in production unless GRAPHIQL=true (the schema is public knowledge; the explorer need not be).
      graphiql: config.graphiql,
      watch: false,
      // A larger body is 413; the WebSocket path holds its messages to the same size (websocket.ts).
      maxRequestLength: MAX_REQUEST_BYTES,
      // graphql-ws on /graphql, served by websocket.ts with grafserv's graphql-ws configuration.
      websockets: true,
      maskError: makeMaskError(log),
      // PERSISTED_OPERATIONS_DIR: only the operations stored there (`<sha256>.graphql`) run; anything else is
      // refused with 400. The frontend then sends `extensions.persistedQuery.sha256Hash` (Apollo's convention).
      ...(config.persistedOperationsDir
        ? {
            ...loadPersistedOperations(config.persistedOperationsDir, log),
            allowUnpersistedOperation: false,
          }
        : {}),
    },
    schema: {
      // Introspection stays on: the schema is public knowledge, the data is not.
      exportSchemaSDLPath: undefined,
    },
  };
}

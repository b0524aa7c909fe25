/**
 * PostGraphile v5: the GraphQL API is generated from the `public` schema (tables, RLS, functions); the plugins
 * listed here add the few fields that must sign something in TypeScript after the database has decided.
 */
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";
import type { Pool } from "pg";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { authenticateRequest } from "../auth.ts";
import { configPgSettings, pgSettingsFor } from "../../core/jwt.ts";
import type { Config } from "../../core/config.ts";
import { makeMaskError } from "./errors.ts";
import { identityPlugin } from "./identity.ts";
import { PlainIdsPlugin } from "./plain-ids.ts";
import type { Logger } from "../../core/log.ts";

export interface PresetOptions {
  config: Config;
  pool: Pool;
  log: Logger;
  /** Capability modules' plugins (server/modules.ts). */
  plugins?: GraphileConfig.Plugin[];
}

export function makePreset({ config, pool, log, plugins = [] }: PresetOptions): GraphileConfig.Preset {
  return {
    extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
    plugins: [PlainIdsPlugin, identityPlugin(config), ...plugins],
    // Row ids stay plain uuids called `id`, as the Supabase tables and the runbook's SQL name them, rather than
    // Relay global object ids.
    disablePlugins: ["NodePlugin"],
    pgServices: [makePgService({ pool, schemas: ["public"] })],
    grafast: {
      explain: false,
      async context(requestContext) {
        // HTTP: the Express middleware (server/auth.ts) has already verified the JWT; a bad one never gets here.
        const req = requestContext.expressv4?.req;
        if (req?.nexusAuth) return { pgSettings: req.nexusAuth.pgSettings };
        // WebSocket (subscriptions): the JWT comes in graphql-ws connectionParams ({ authorization: "Bearer …" }).
        const ws = requestContext.ws;
        if (ws) {
          const header = ws.normalizedConnectionParams?.authorization ?? ws.request?.headers?.authorization;
          const auth = await authenticateRequest(Array.isArray(header) ? header[0] : header, config.jwt.secret, configPgSettings(config));
          return { pgSettings: auth.pgSettings };
        }
        return { pgSettings: pgSettingsFor(null, configPgSettings(config)) };
      },
    },
    grafserv: {
      graphqlPath: "/graphql",
      graphiqlPath: "/graphiql",
      graphiql: true,
      watch: false,
      websockets: true,
      maskError: makeMaskError(log),
    },
    schema: {
      // Ruru and introspection stay on: the schema is public knowledge, the data is not.
      exportSchemaSDLPath: undefined,
    },
  };
}

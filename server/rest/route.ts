/**
 * The runbook's REST edge (`POST /functions/v1/<name>`), written once for every route: JSON body of at most
 * 64 KiB, `Authorization: Bearer <JWT>` verified before any SQL, the body validated with a zod schema, the
 * handler run as the caller (core/database/caller.ts: the caller's pgSettings and the handler's statements in one
 * transaction and one round trip, the same mechanism as the GraphQL token fields), and every failure mapped to
 * `{ error: CODE, message }` with the status of core/errors.ts. Handlers are thin adapters over SQL functions.
 *
 * Answered on node's own request and response, before Express (server/app.ts): these are the hot routes (a
 * LiveKit token per join), and Express's router, body parser and response helpers were a large part of a token's
 * server CPU. What Express's stack did for them is done here with the same code (server/http.ts): request id and
 * log line, the latency histogram, helmet's headers, CORS and its preflight; the error bodies are the same.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Pool } from "pg";
import type { z } from "zod";
import { authenticateOrRefuse, edgeAuth, type RequestAuth } from "../auth.ts";
import type { Config } from "../../core/config.ts";
import { makeAsCaller, type CallerResult, type CallerStatement } from "../../core/database/caller.ts";
import { ApiError, toApiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { answeredBodyFailure, CORS_METHODS, parseBody, readJsonBody, requestPath, startEdgeRequest, writeError, writeJson, type EdgeHttp, type TrackedRequest } from "../http.ts";
import type { HttpMetrics } from "../metrics.ts";

export interface RouteContext {
  auth: RequestAuth;
  /** The caller's user id (routes require a signed-in member). */
  userId: string;
  /**
   * Run named statements as the caller (role and JWT claims as pgSettings) in one transaction and one round trip
   * (core/database/caller.ts); results in statement order.
   */
  asCaller(statements: readonly CallerStatement[]): Promise<CallerResult<any>[]>;
  req: IncomingMessage;
}

export type RouteHandler<T> = (input: T, ctx: RouteContext) => Promise<{ status?: number; body: unknown }>;

export interface RestRoute {
  name: string;
  schema: z.ZodType<any>;
  handler: RouteHandler<any>;
}

/** Declare a route: its name under /functions/v1, its body schema, its handler. */
export function defineRoute<S extends z.ZodType<any>>(name: string, schema: S, handler: RouteHandler<z.infer<S>>): RestRoute {
  return { name, schema, handler };
}

export interface RestOptions {
  config: Config;
  pool: Pool;
  log: Logger;
  routes: RestRoute[];
  metrics: HttpMetrics;
  /** Sets helmet's headers (server/http.ts recordSecurityHeaders). */
  securityHeaders(res: ServerResponse): void;
  /** Paths under /functions/v1 that are not REST routes (the webhook alias): left to Express. */
  except: readonly string[];
}

const PREFIX = "/functions/v1";
const BODY_LIMIT = 64 * 1024;


/**
 * The REST edge as a node request handler: answers (and returns true for) every request under /functions/v1
 * except `except`, returns false for anything else, which Express answers.
 */
export function restEdge({ config, pool, log, routes, metrics, securityHeaders, except }: RestOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const asCaller = makeAsCaller(pool);
  // Express matched routes case-insensitively and with or without a trailing slash; so do these.
  const key = (path: string) => (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path).toLowerCase();
  const byPath = new Map(routes.map((route) => [key(`${PREFIX}/${route.name}`), route]));
  const skipped = new Set(except.map(key));
  const http: EdgeHttp = { log, metrics, securityHeaders, origins: new Set(config.corsOrigins), methods: CORS_METHODS.rest };
  const edge = edgeAuth(config);

  const answer = async (req: IncomingMessage, res: ServerResponse, path: string, route: RestRoute | undefined, tracked: TrackedRequest) => {
    try {
      const body = await readJsonBody(req, BODY_LIMIT);
      const auth = await authenticateOrRefuse(req, res, edge, "rest");
      if (!auth) return;
      if (!route) throw new ApiError("NOT_FOUND", `no route ${req.method} ${path}`);
      if (req.method !== "POST") throw new ApiError("METHOD_NOT_ALLOWED", `${path} answers POST, not ${req.method}`);
      const userId = auth.claims?.sub;
      if (!userId || auth.claims?.role !== "authenticated") {
        throw new ApiError("UNAUTHENTICATED", "this route needs a signed-in member's JWT", { refusal: "no_token" });
      }
      const input = parseBody(route.schema, body);
      const result = await route.handler(input, { auth, userId, req, asCaller: (statements) => asCaller(auth.pgSettings, statements) });
      writeJson(res, result.status ?? 200, result.body);
    } catch (error) {
      if (answeredBodyFailure(res, error, tracked.log)) return;
      const apiError = toApiError(error);
      if (apiError.status >= 500) tracked.log.error({ err: error, route: route?.name }, "REST route failed");
      writeError(res, apiError);
    }
  };

  return (req, res) => {
    const path = requestPath(req);
    const lower = key(path);
    if (!(lower === PREFIX.toLowerCase() || lower.startsWith(`${PREFIX.toLowerCase()}/`))) return false;
    // The webhook alias is Express's (POST only; anything else on it is answered here, as an unknown route).
    if (req.method === "POST" && skipped.has(lower)) return false;
    const route = byPath.get(lower);
    const tracked = startEdgeRequest(http, req, res, route ? `${PREFIX}/${route.name}` : "unmatched");
    if (!tracked) return true;
    answer(req, res, path, route, tracked).catch((error) => {
      // Only a fault in writing the answer itself gets here.
      tracked.log.error({ err: error }, "REST request failed");
      if (!res.headersSent) writeError(res, toApiError(error));
      else res.destroy();
    });
    return true;
  };
}

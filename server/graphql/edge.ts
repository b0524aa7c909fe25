/**
 * The GraphQL edge: `/graphql` (and below it, grafserv's event stream) answered on node's own request and
 * response, before Express, like the REST routes (server/rest/route.ts). Express's router walked every mounted
 * module's layers, with their path matching, on each GraphQL request before grafserv saw it; a voice token over
 * GraphQL paid for that on every join. What Express's stack did for GraphQL is done here with the same code
 * (server/http.ts, server/auth.ts): request id and log line, the latency histogram, helmet's headers, CORS and its
 * preflight, and the JWT checked before any SQL (a bad one is 401 with a GraphQL error body). Then grafserv's node
 * handler runs the request; what it does not answer goes on to Express (and its NOT_FOUND).
 *
 * Ruru (/graphiql) and its assets stay with Express: they are pages, not API calls.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { authenticateOrRefuse, edgeAuth } from "../auth.ts";
import type { Config } from "../../core/config.ts";
import { toApiError } from "../../core/errors.ts";
import { anonymousRequest } from "./errors.ts";
import { MAX_REQUEST_BYTES } from "./limits.ts";
import type { Logger } from "../../core/log.ts";
import { clientAddressOf, CORS_METHODS, requestPath, startEdgeRequest, writeJson, type EdgeHttp } from "../http.ts";
import type { HttpMetrics } from "../metrics.ts";

export const GRAPHQL_PATH = "/graphql";

export interface GraphqlEdgeOptions {
  config: Config;
  log: Logger;
  metrics: HttpMetrics;
  /** Sets helmet's headers (server/http.ts recordSecurityHeaders). */
  securityHeaders(res: ServerResponse): void;
  /** grafserv's node handler; `next` is called for what it does not answer. */
  handler(req: IncomingMessage, res: ServerResponse, next: () => void): unknown;
  /** Where what grafserv does not answer goes (Express). */
  fallback(req: IncomingMessage, res: ServerResponse): void;
}

/** The edge as a node request handler: answers (and returns true for) /graphql and below, false for anything else. */
export function graphqlEdge({ config, log, metrics, securityHeaders, handler, fallback }: GraphqlEdgeOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const http: EdgeHttp = { log, metrics, securityHeaders, origins: new Set(config.corsOrigins), methods: CORS_METHODS.graphql };
  const edge = edgeAuth(config);
  const clientAddress = clientAddressOf(config.trustProxy, log);

  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const auth = await authenticateOrRefuse(req, res, edge, "graphql");
    if (!auth) return;
    req.nexusAuth = auth;
    req.nexusClient = { address: clientAddress(req), userAgent: req.headers["user-agent"] };
    // Declared too large, a body is refused here before grafserv reads a byte; sent without a length, grafserv
    // stops at its limit and answers 413. Either answer goes out before the body has all arrived, so it closes the
    // connection (server/http.ts writeHeadClosingEarly): the rest is never read.
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > MAX_REQUEST_BYTES) {
      return writeJson(res, 413, { errors: [{ message: `the request is larger than ${MAX_REQUEST_BYTES} bytes`, extensions: { code: "BAD_REQUEST" } }] });
    }
    await anonymousRequest.run(auth.pgSettings.role === "anon", () => handler(req, res, () => fallback(req, res)));
  };

  return (req, res) => {
    const path = requestPath(req);
    if (path !== GRAPHQL_PATH && !path.startsWith(`${GRAPHQL_PATH}/`)) return false;
    const tracked = startEdgeRequest(http, req, res, GRAPHQL_PATH);
    if (!tracked) return true;
    answer(req, res).catch((error) => {
      // grafserv answers its own errors; only a fault outside it (or in writing the answer) gets here.
      tracked.log.error({ err: error }, "GraphQL request failed");
      if (res.headersSent) return void res.destroy();
      const apiError = toApiError(error);
      writeJson(res, apiError.status, { errors: [{ message: apiError.message, extensions: { code: apiError.code } }] });
    });
    return true;
  };
}

/**
 * The HTTP server: health probes, Prometheus metrics, the GraphQL API (PostGraphile through grafserv's node
 * adaptor) and, from the capability modules, the runbook's /functions/v1 routes, the LiveKit webhook shim and /ops.
 * The hot paths, REST /functions/v1 (server/rest/route.ts) and /graphql (server/graphql/edge.ts), are answered on
 * node's own request and response; everything else goes to Express.
 */
import http from "node:http";
import express, { type Express } from "express";
import type { Pool } from "pg";
import { postgraphile, type PostGraphileInstance } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { makePreset } from "./graphql/preset.ts";
import { graphqlEdge, GRAPHQL_PATH } from "./graphql/edge.ts";
import { graphqlWebSocket } from "./graphql/websocket.ts";
import { continueWhenRead, loggedText, recordSecurityHeaders, requestLogger, sendError, writeHeadClosingEarly } from "./http.ts";
import { ApiError, toApiError } from "../core/errors.ts";
import { createMetricsRegistry, httpMetrics, mountMetrics } from "./metrics.ts";
import type { AppContext } from "./context.ts";
import { modules } from "./modules.ts";
import { WEBHOOK_PATHS } from "./presence/rest.ts";
import { restEdge } from "./rest/route.ts";

/** Where a connection keeps the response it is answering or last answered (see `connections` below). */
const ANSWERING = Symbol("nexus.answering");
const PIPELINED = Symbol("nexus.pipelined");
/** Requests a connection may have waiting behind an unsent answer (browsers and supabase-js send one at a time). */
const MAX_PIPELINED = 16;
type AnsweringSocket = import("node:net").Socket & { [ANSWERING]?: http.ServerResponse; [PIPELINED]?: number };

/** A WebSocket close frame from the server (unmasked): 1012 service restart. */
const SERVICE_RESTART_FRAME = (() => {
  const reason = Buffer.from("server shutting down");
  return Buffer.concat([Buffer.from([0x88, 2 + reason.length, 1012 >> 8, 1012 & 0xff]), reason]);
})();

export interface NexusServer {
  app: Express;
  server: http.Server;
  pgl: PostGraphileInstance;
  close(): Promise<void>;
}

async function databaseReady(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("select 1");
  } finally {
    client.release();
  }
}

export async function createServer(ctx: AppContext): Promise<NexusServer> {
  const { config, pool, log } = ctx;
  const app = express();
  app.disable("x-powered-by");
  // Express's req.ip and req.protocol follow TRUST_PROXY too; the sign-up limit's client address is read by
  // clientAddressOf (server/http.ts) on GraphQL and /auth/v1 alike.
  app.set("trust proxy", config.trustProxy);
  // No ETag: answers are no-store (server/http.ts), and a tag of a token answer is a fingerprint of the token.
  app.set("etag", false);
  const routes = modules.flatMap((module) => module.restRoutes?.(ctx) ?? []);
  const metrics = createMetricsRegistry();
  const requestMetrics = httpMetrics(metrics, [GRAPHQL_PATH, "/graphiql", "/healthz", "/readyz", "/metrics", "/ops", "/auth/v1/signup", "/auth/v1/token", "/auth/v1/user", "/auth/v1/logout", ...routes.map((r) => `/functions/v1/${r.name}`)]);
  const applySecurityHeaders = recordSecurityHeaders();
  // The runbook's REST routes are answered before Express (server/rest/route.ts); everything else goes to it.
  const rest = restEdge({ config, pool, log, routes, metrics: requestMetrics, securityHeaders: applySecurityHeaders, except: WEBHOOK_PATHS });
  // Set once PostGraphile is built, below; no request is taken before createServer returns.
  let graphql: (req: http.IncomingMessage, res: http.ServerResponse) => boolean = () => false;
  // Open connections, so that close() can let the requests they carry finish (SHUTDOWN_TIMEOUT_MS) instead of cutting
  // them off. Per connection, not per request: a Set entry per request, live for its whole life, cost the token
  // path ≈ 20 µs of server CPU each (bench/voice-token.ts, docs/BENCHMARKS.md). A connection's latest response is
  // kept on its socket under ANSWERING (a property store per request, no listener); HTTP/1.1 answers in order, so
  // it is the one being answered unless it has finished.
  const connections = new Set<import("node:net").Socket>();
  function forget(this: import("node:net").Socket) {
    connections.delete(this);
  }
  let draining = false;
  // Node checks REQUEST_TIMEOUT_MS on an interval (30 s by default); checked more often, a trickling client is cut
  // close to the limit rather than up to 30 s after it.
  const connectionsCheckingInterval = Math.max(100, Math.min(5_000, Math.floor(config.requestTimeoutMs / 4)));
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse, writeHead: http.ServerResponse["writeHead"] = writeHeadClosingEarly) => {
    const socket = req.socket as AnsweringSocket;
    // Requests pipelined behind answers not yet sent: each waiting answer holds memory (a file being read, a
    // query), and a client that never reads could queue thousands with a few bytes each. Past MAX_PIPELINED the
    // connection is closed.
    const previous = socket[ANSWERING];
    if (previous !== undefined && !previous.writableFinished) {
      socket[PIPELINED] = (socket[PIPELINED] ?? 0) + 1;
      if (socket[PIPELINED]! > MAX_PIPELINED) {
        log.warn({ client: socket.remoteAddress, pipelined: socket[PIPELINED] }, "closing a connection that pipelines requests without reading the answers");
        socket.destroy();
        return;
      }
    } else socket[PIPELINED] = 0;
    socket[ANSWERING] = res;
    res.writeHead = writeHead;
    if (draining) res.shouldKeepAlive = false;
    if (!rest(req, res) && !graphql(req, res)) app(req, res);
  };
  const server = http.createServer({ connectionsCheckingInterval }, onRequest);
  // Expect: 100-continue: the 100 only once a handler reads the body (continueWhenRead, server/http.ts).
  server.on("checkContinue", (req, res) => {
    continueWhenRead(req, res);
    onRequest(req, res, res.writeHead);
  });
  // A request with an Expect other than 100-continue: node answers 417 itself, without the request listener, so
  // the answer gets writeHeadClosingEarly here (its body is never read to its end either).
  server.on("checkExpectation", (_req, res) => {
    res.writeHead = writeHeadClosingEarly;
    res.writeHead(417, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "BAD_REQUEST", message: "only Expect: 100-continue is supported" }));
  });
  // Idle keep-alive connections stay open longer than a load balancer's idle timeout (60 s on the common ones), so
  // it is never the server that closes a connection the balancer or a client is about to reuse (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  // A request's headers and body must arrive within REQUEST_TIMEOUT_MS (then 408 and the connection closes), so a
  // client trickling bytes (slowloris) holds a connection that long at most. These count from a request's first
  // byte: an idle keep-alive connection is the keepAliveTimeout's alone.
  server.headersTimeout = config.requestTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  // WebSocket (subscription) connections are upgraded out of the HTTP server's reach: track them to close them.
  const upgraded = new Set<import("node:stream").Duplex>();
  server.on("upgrade", (_req, socket) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
  });
  app.use(requestLogger(log));
  app.use(requestMetrics.middleware);
  app.use((_req, res, next) => {
    applySecurityHeaders(res);
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    if (draining) {
      res.status(503).json({ status: "draining", error: "UNAVAILABLE", message: "the server is shutting down" });
      return;
    }
    try {
      await Promise.race([
        databaseReady(pool),
        new Promise((_, reject) => setTimeout(() => reject(new Error("database did not answer within 2 s")), 2000).unref()),
      ]);
      res.json({ status: "ready" });
    } catch (error) {
      // The cause (an address, a role name) is the operator's, in the log; anyone may ask /readyz.
      log.warn({ err: error }, "readiness check failed: database unavailable");
      res.status(503).json({ status: "unavailable", error: "UNAVAILABLE", message: "the database is not answering" });
    }
  });

  for (const module of modules) module.metrics?.(metrics, ctx);
  mountMetrics(app, metrics, log, config.metricsToken);

  for (const module of modules) module.mount?.(app, ctx);
  const plugins = modules.flatMap((module) => module.plugins?.(ctx) ?? []);
  const preset = makePreset({ config, pool, log, plugins });
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const grafservHandler = serv.createHandler();
  graphql = graphqlEdge({ config, log, metrics: requestMetrics, securityHeaders: applySecurityHeaders, handler: grafservHandler, fallback: app });
  // Ruru (/graphiql, when on) and its assets: grafserv's handler as Express middleware; it passes on what it
  // does not serve.
  app.use((req, res, next) => void grafservHandler(req, res, next));
  // Subscriptions: graphql-ws on /graphql (the JWT in connectionParams, preset.ts; a message at most
  // MAX_REQUEST_BYTES, websocket.ts); any other upgrade is closed.
  const webSocket = graphqlWebSocket(serv, log, config.subscriptions, config.requestTimeoutMs);
  server.on("upgrade", (req, socket, head) => {
    if (serv.shouldHandleUpgrade(req, socket, head)) webSocket.handleUpgrade(req, socket, head);
    else socket.destroy();
  });

  // What no route answered, and any error no route handled, leave as the API's JSON body, never Express's HTML
  // page (which would also show a stack trace outside production).
  app.use((req, res) => {
    sendError(res, new ApiError("NOT_FOUND", `no route ${req.method} ${req.path}`));
  });
  app.use((error: Error & { status?: number; statusCode?: number }, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(error);
    const status = error.status ?? error.statusCode;
    if (status === 404) return sendError(res, new ApiError("NOT_FOUND", `no route ${req.method} ${req.path}`));
    if (status && status >= 400 && status < 500) return sendError(res, new ApiError("BAD_REQUEST", "the request is not valid"));
    const apiError = toApiError(error);
    if (apiError.status >= 500) (req.log ?? log).error({ err: error }, "request failed");
    sendError(res, apiError);
  });

  server.on("connection", (socket: import("node:net").Socket) => {
    connections.add(socket);
    socket.on("close", forget);
  });
  /** The responses the server is writing now, one per connection at most (HTTP/1.1 answers in order). */
  function answeringNow(): http.ServerResponse[] {
    const found: http.ServerResponse[] = [];
    for (const socket of connections) {
      const res = (socket as AnsweringSocket)[ANSWERING];
      if (res && !res.writableFinished) found.push(res);
    }
    return found;
  }

  /**
   * Stop taking connections and let the requests being answered finish: idle keep-alive connections are closed
   * at once, each answer from now on closes its connection, and subscriptions get a WebSocket close 1012 (service
   * restart), on which graphql-ws clients reconnect. What is still unanswered after SHUTDOWN_TIMEOUT_MS is cut
   * off, with a warning that names it.
   */
  async function drain(): Promise<void> {
    draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of answeringNow()) if (!res.headersSent) res.shouldKeepAlive = false;
    for (const socket of upgraded) socket.end(SERVICE_RESTART_FRAME);
    // An answer whose headers went out before the drain began keeps its connection: close it once it is idle.
    server.closeIdleConnections();
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    let deadline: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      closed.then(() => "drained" as const),
      new Promise<"deadline">((resolve) => (deadline = setTimeout(() => resolve("deadline"), config.shutdownTimeoutMs))),
    ]);
    clearInterval(idle);
    clearTimeout(deadline);
    if (outcome === "deadline") {
      const cut = answeringNow().map((res) => `${res.req.method} ${loggedText(res.req.url?.split("?")[0] ?? "")}`);
      if (cut.length > 0 || upgraded.size > 0) {
        log.warn(
          { requests: cut.slice(0, 20), unanswered: cut.length, subscriptions: upgraded.size, shutdownTimeoutMs: config.shutdownTimeoutMs },
          `shutdown: ${cut.length} request(s) and ${upgraded.size} subscription connection(s) still open after SHUTDOWN_TIMEOUT_MS; cutting them off`,
        );
      }
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
      await closed;
    }
  }

  return {
    app,
    server,
    pgl,
    async close() {
      await drain();
      await webSocket.close();
      await pgl.release();
      // The pool is ours, but the LISTEN client of the subscriptions' PgSubscriber is the service's to give back.
      for (const service of preset.pgServices ?? []) await service.release?.();
    },
  };
}

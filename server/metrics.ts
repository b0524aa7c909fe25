/**
 * Prometheus metrics at `GET /metrics`: one prom-client Registry per server, with Node's process metrics and
 * whatever the capability modules add through `NexusModule.metrics(registry, ctx)` (server/modules.ts).
 *
 * Figures that live in the database (queue depth, stale presence, pending notifications…) are read at scrape
 * time in a gauge's collect(), never counted in process memory, so every server behind the load balancer reports
 * the same numbers. `databaseSnapshot` runs one query per scrape for several gauges; `asService` runs it as
 * service_role through the same pgSettings mechanism as the API.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Express, Request, RequestHandler } from "express";
import type { Pool } from "pg";
import { makePgAdaptorWithPgClient, type NodePostgresPgClient } from "postgraphile/adaptors/pg";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import { acceptedWithPreviousSecret, API_ROLES } from "../core/jwt.ts";
import type { Logger } from "../core/log.ts";
import { ApiError } from "../core/errors.ts";
import { sendError } from "./http.ts";

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "nexus_" });
  new Counter({
    name: "nexus_jwt_previous_secret_accepted_total",
    help: "Tokens accepted because they were signed with JWT_PREVIOUS_SECRET (a rotation under way): remove it once this stops growing",
    labelNames: ["role"],
    registers: [registry],
    collect() {
      this.reset();
      for (const role of API_ROLES) this.inc({ role }, acceptedWithPreviousSecret[role]);
    },
  });
  return registry;
}

const SERVICE_SETTINGS = { role: "service_role", "request.jwt.claims": JSON.stringify({ role: "service_role" }) };

/** Run queries as service_role (in one transaction), the way metrics and other internal readers should. */
export function asService(pool: Pool): <T>(fn: (client: NodePostgresPgClient) => Promise<T>) => Promise<T> {
  const withPgClient = makePgAdaptorWithPgClient(pool);
  return (fn) => withPgClient(SERVICE_SETTINGS, fn);
}

/**
 * Share one database read between the gauges of a scrape: prom-client collects all metrics at once, so every
 * gauge that calls the returned function during a scrape awaits the same query. A failed read is logged and
 * yields null, so one unreachable table blanks its gauges instead of failing the whole scrape.
 */
export function databaseSnapshot<T>(log: Logger, what: string, read: () => Promise<T>): () => Promise<T | null> {
  let inFlight: Promise<T | null> | null = null;
  return () => {
    inFlight ??= read()
      .catch((error: unknown) => {
        log.warn({ err: error }, `metrics: reading ${what} failed`);
        return null;
      })
      .finally(() => {
        setImmediate(() => (inFlight = null));
      });
    return inFlight;
  };
}

/** `Authorization: Bearer <token>` equals the token, compared in constant time (as SHA-256 digests: equal lengths). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return false;
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/**
 * GET /metrics. With METRICS_TOKEN set, a scrape must send `Authorization: Bearer <METRICS_TOKEN>` (Prometheus:
 * `authorization: { credentials: … }`); anything else is 401 and reads nothing from the database.
 */
export function mountMetrics(app: Express, registry: Registry, log: Logger, token: string | undefined): void {
  app.get("/metrics", async (req, res) => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res.status(401).set("WWW-Authenticate", 'Bearer realm="metrics"');
      sendError(res, new ApiError("UNAUTHENTICATED", "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>"));
      return;
    }
    try {
      res.set("Content-Type", registry.contentType).send(await registry.metrics());
    } catch (error) {
      log.error({ err: error }, "metrics scrape failed");
      res.status(500).type("text/plain").send("metrics unavailable\n");
    }
  });
}

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);

/**
 * The route a request matched, as a template rather than the raw URL, so the label set stays bounded whatever
 * clients send: the Express route (base URL + route path) when one matched, else one of the server's fixed
 * paths, `/ops/*` for the page's assets, and `unmatched` for everything else (scanners, typos).
 */
function routeLabel(req: Request, known: ReadonlySet<string>): string {
  const routePath: unknown = req.route?.path;
  if (typeof routePath === "string") return `${req.baseUrl ?? ""}${routePath}`;
  const path = req.originalUrl.split("?")[0] ?? "";
  if (known.has(path)) return path;
  if (path.startsWith("/ops/")) return "/ops/*";
  return "unmatched";
}

/** The request-latency histogram: Express middleware, and `track` for the routes answered before Express. */
export interface HttpMetrics {
  middleware: RequestHandler;
  /** Time this request, labelled with the given route template, until its response is finished. */
  track(method: string | undefined, res: import("node:http").ServerResponse, route: string): void;
}

/**
 * `nexus_http_request_duration_seconds{method, route, status}`: a latency histogram per route template, from the
 * first middleware to the last byte of the response. `routes` lists the paths that are not Express routes
 * (GraphQL, and the REST routes whose body was refused before their handler ran).
 */
export function httpMetrics(registry: Registry, routes: readonly string[]): HttpMetrics {
  const histogram = new Histogram({
    name: "nexus_http_request_duration_seconds",
    help: "HTTP request latency by method, route template and status code.",
    labelNames: ["method", "route", "status"],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const known = new Set(routes);
  const methodLabel = (method: string | undefined) => (method && METHODS.has(method) ? method : "OTHER");
  return {
    middleware: (req, res, next) => {
      const end = histogram.startTimer();
      res.on("finish", () => {
        end({ method: methodLabel(req.method), route: routeLabel(req, known), status: String(res.statusCode) });
      });
      next();
    },
    track(method, res, route) {
      const end = histogram.startTimer();
      res.on("finish", () => {
        end({ method: methodLabel(method), route, status: String(res.statusCode) });
      });
    },
  };
}

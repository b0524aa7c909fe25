/**
 * The HTTP server: health probes, Prometheus metrics, the GraphQL API (PostGraphile through grafserv's Express
 * adaptor) and, from the capability modules, the runbook's /functions/v1 routes, the LiveKit webhook shim and /ops.
 */
import http from "node:http";
import express, { type Express } from "express";
import type { Pool } from "pg";
import { postgraphile, type PostGraphileInstance } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/express/v4";
import { makePreset } from "../graphile.config.ts";
import { configPgSettings, requireValidJwt } from "./auth.ts";
import type { Config } from "./config.ts";
import { cors, requestLogger, securityHeaders } from "./http.ts";
import type { Logger } from "./log.ts";
import { createMetricsRegistry, mountMetrics } from "./metrics.ts";
import { modules } from "./modules.ts";
import { restRouter } from "./rest/route.ts";

export interface AppContext {
  config: Config;
  pool: Pool;
  log: Logger;
}

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
  const server = http.createServer(app);
  // WebSocket (subscription) connections are upgraded out of the HTTP server's reach: track them to close them.
  const upgraded = new Set<import("node:stream").Duplex>();
  server.on("upgrade", (_req, socket) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
  });
  app.use(requestLogger(log));
  app.use(securityHeaders());

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await Promise.race([
        databaseReady(pool),
        new Promise((_, reject) => setTimeout(() => reject(new Error("database did not answer within 2 s")), 2000).unref()),
      ]);
      res.json({ status: "ready" });
    } catch (error) {
      log.warn({ err: error }, "readiness check failed: database unavailable");
      res.status(503).json({ status: "unavailable", error: "UNAVAILABLE", message: (error as Error).message });
    }
  });

  const metrics = createMetricsRegistry();
  for (const module of modules) module.metrics?.(metrics, ctx);
  mountMetrics(app, metrics, log);

  for (const module of modules) module.mount?.(app, ctx);
  const routes = modules.flatMap((module) => module.restRoutes?.(ctx) ?? []);
  const browserFacing = cors(config.corsOrigins);
  app.use("/functions/v1", browserFacing);
  app.use("/graphql", browserFacing);
  app.use("/functions/v1", restRouter({ config, pool, log, routes }));

  app.use("/graphql", requireValidJwt(config.jwt.secret, "graphql", configPgSettings(config)));

  const plugins = modules.flatMap((module) => module.plugins?.(ctx) ?? []);
  const preset = makePreset({ config, pool, log, plugins });
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  await serv.addTo(app, server);

  return {
    app,
    server,
    pgl,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      });
      await pgl.release();
      // The pool is ours, but the LISTEN client of the subscriptions' PgSubscriber is the service's to give back.
      for (const service of preset.pgServices ?? []) await service.release?.();
    },
  };
}

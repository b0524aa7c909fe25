/**
 * The HTTP server: health probes, the GraphQL API (PostGraphile through grafserv's Express adaptor) and, from the
 * capability modules, the runbook's /functions/v1 routes and the LiveKit webhook shim.
 */
import http from "node:http";
import express, { type Express } from "express";
import type { Pool } from "pg";
import { postgraphile, type PostGraphileInstance } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/express/v4";
import { makePreset } from "../graphile.config.ts";
import { configPgSettings, requireValidJwt } from "./auth.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
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

  for (const module of modules) module.mount?.(app, ctx);
  const routes = modules.flatMap((module) => module.restRoutes?.(ctx) ?? []);
  app.use("/functions/v1", restRouter({ config, pool, log, routes }));

  app.use("/graphql", requireValidJwt(config.jwt.secret, "graphql", configPgSettings(config)));

  const plugins = modules.flatMap((module) => module.plugins?.(ctx) ?? []);
  const pgl = postgraphile(makePreset({ config, pool, log, plugins }));
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
      });
      await pgl.release();
    },
  };
}

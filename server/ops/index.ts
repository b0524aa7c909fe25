/**
 * Job queue monitoring (DESIGN.md §7): the /ops page and the queue gauges on /metrics.
 *
 * The GraphQL fields (jobQueueStats, failedJobs, cronSchedule, retryJobs, discardJobs) need no code here:
 * PostGraphile exposes the SQL functions of db/functions/70_job_queue.sql, which also decide who may call them.
 * The page is static HTML and a JS module (server/ops/static, no build step); it holds nothing but markup and
 * reaches data only through /graphql with the operator's own JWT.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import helmet from "helmet";
import { Gauge } from "prom-client";
import { asService, databaseSnapshot } from "../metrics.ts";
import type { NexusModule } from "../context.ts";

const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "static");

interface QueueRow {
  task_identifier: string;
  queued: number;
  scheduled: number;
  running: number;
  failed: number;
  oldest_queued_age_seconds: number | null;
}

/**
 * The page may only talk to this origin, run its own module and never be framed (the other security headers come
 * from server/http.ts for every route).
 */
const pageHeaders = [
  helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      connectSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  }),
  helmet.referrerPolicy({ policy: "no-referrer" }),
];

export const opsModule: NexusModule = {
  name: "ops",

  mount(app) {
    const page = path.join(STATIC_DIR, "index.html");
    const sendPage: express.RequestHandler = (_req, res) => {
      res.set("Cache-Control", "no-cache").sendFile(page);
    };
    app.get(["/ops", "/ops/"], ...pageHeaders, sendPage);
    app.use("/ops", ...pageHeaders, express.static(STATIC_DIR, { index: false, fallthrough: false, maxAge: 0 }));
  },

  metrics(registry, { pool, log }) {
    const withService = asService(pool);
    const snapshot = databaseSnapshot(log, "job queue stats", () =>
      withService(async (client) => {
        const { rows } = await client.query<QueueRow>({
          text: `select task_identifier, queued, scheduled, running, failed,
                        extract(epoch from now() - oldest_queued_at)::float8 as oldest_queued_age_seconds
                   from public.job_queue_stats()`,
        });
        return rows;
      }),
    );

    new Gauge({
      name: "nexus_job_queue_depth",
      help: "Jobs per task and state: queued (due, waiting for a worker), scheduled (waiting for a later run time or retry back-off), running.",
      labelNames: ["task", "state"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of (await snapshot()) ?? []) {
          this.set({ task: row.task_identifier, state: "queued" }, row.queued);
          this.set({ task: row.task_identifier, state: "scheduled" }, row.scheduled);
          this.set({ task: row.task_identifier, state: "running" }, row.running);
        }
      },
    });
    new Gauge({
      name: "nexus_job_dead_letters",
      help: "Failed jobs per task whose attempts are exhausted; they wait for an operator to retry or discard them.",
      labelNames: ["task"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of (await snapshot()) ?? []) this.set({ task: row.task_identifier }, row.failed);
      },
    });
    new Gauge({
      name: "nexus_job_queue_oldest_queued_age_seconds",
      help: "How long the longest-waiting due job of each task has waited (0 when none is waiting).",
      labelNames: ["task"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of (await snapshot()) ?? []) {
          this.set({ task: row.task_identifier }, Math.max(0, row.oldest_queued_age_seconds ?? 0));
        }
      },
    });
  },
};

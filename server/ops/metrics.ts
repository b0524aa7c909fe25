/**
 * The job queue on /metrics (DESIGN.md §7), from public.job_queue_stats() as service_role at scrape time: depth per
 * task and state, dead letters per task, and the age of the longest-waiting due job.
 */
import { Gauge, type Registry } from "prom-client";
import type { AppContext } from "../context.ts";
import { asService, databaseSnapshot } from "../metrics.ts";

interface QueueRow {
  task_identifier: string;
  queued: number;
  scheduled: number;
  running: number;
  failed: number;
  oldest_queued_age_seconds: number | null;
}

export function opsMetrics(registry: Registry, { pool, log }: Pick<AppContext, "pool" | "log">): void {
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
}

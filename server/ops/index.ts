/**
 * Job queue monitoring (DESIGN.md §7): the /ops page (page.ts) and the queue gauges on /metrics (metrics.ts).
 *
 * The GraphQL fields (jobQueueStats, failedJobs, cronSchedule, retryJobs, discardJobs, openRescueFlares) need no
 * code here: PostGraphile exposes the SQL functions of db/functions/70_job_queue.sql and 71_rescue_flares_ops.sql,
 * which also decide who may call them.
 */
import type { NexusModule } from "../context.ts";
import { opsMetrics } from "./metrics.ts";
import { mountOpsPage } from "./page.ts";

export const opsModule: NexusModule = {
  name: "ops",
  mount: (app) => mountOpsPage(app),
  metrics: (registry, ctx) => opsMetrics(registry, ctx),
};

/**
 * A rescue flare's fan-out: queue one notification_queue row for every device of every other member, page by
 * page (PUSH_FANOUT_PAGE_SIZE devices a transaction), each page with its delivery jobs (PUSH_BATCH_SIZE rows a
 * job) in the same transaction, so deliveries start while later pages are written. If this worker dies midway,
 * the job runs again from the start: devices already queued for the flare are skipped, so nobody is paged twice
 * and nobody is missed.
 */
import type { Task } from "graphile-worker";
import { z } from "zod";
import { workerContext } from "../context.ts";
import { parsePayload } from "../payload.ts";

export interface FanoutPayload {
  flareId: string;
}

const Payload = z.object({ flareId: z.uuid() }) satisfies z.ZodType<FanoutPayload>;

const task: Task = async (raw, helpers) => {
  const payload = await parsePayload(Payload, raw, helpers);
  const { config, log } = workerContext();
  const started = Date.now();
  let after: string | null = null;
  let queued = 0;
  let pages = 0;
  for (;;) {
    const { rows } = await helpers.withPgClient((client) =>
      client.query<{ last_subscription_id: string | null; queued: number }>(
        "select last_subscription_id, queued from nexus_private.fan_out_flare($1, $2, $3, $4)",
        [payload.flareId, after, config.push.fanoutPageSize, config.push.batchSize],
      ),
    );
    const page = rows[0]!;
    pages++;
    queued += page.queued;
    if (!page.last_subscription_id) break;
    after = page.last_subscription_id;
  }
  log.info({ flareId: payload.flareId, queued, pages, ms: Date.now() - started }, "rescue flare fanned out");
};

export default task;

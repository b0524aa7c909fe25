/**
 * The notification queue on /metrics (issue #7), read at scrape time as service_role:
 *   nexus_notifications_pending{type}, nexus_notifications_failed{type} (24 h),
 *   nexus_notifications_oldest_pending_seconds{type}: from one query over the unsent rows;
 *   nexus_notifications_sent{type}: deliveries a push service accepted in the last 24 hours, through the
 *   runbook's "recent deliveries" index on sent_at.
 */
import { Gauge, type Registry } from "prom-client";
import type { AppContext } from "../context.ts";
import { asService, databaseSnapshot } from "../metrics.ts";

/** A gauge labelled by notification type, refilled from `rows` on every scrape. */
function gaugeByType<R extends { type: string }>(
  registry: Registry,
  name: string,
  help: string,
  rows: () => Promise<readonly R[] | null>,
  pick: (row: R) => number,
): void {
  new Gauge({
    name,
    help,
    labelNames: ["type"],
    registers: [registry],
    async collect() {
      const current = await rows();
      if (!current) return;
      this.reset();
      for (const row of current) this.set({ type: row.type }, pick(row));
    },
  });
}

export function pushMetrics(registry: Registry, { pool, log }: Pick<AppContext, "pool" | "log">): void {
  const read = asService(pool);
  const unsent = databaseSnapshot(log, "notification queue", () =>
    read(async (client) => {
      const { rows } = await client.query<{ type: string; pending: number; failed: number; oldest: number }>({
        text: `select type,
                      count(*) filter (where sent_at is null and failed_at is null)::int as pending,
                      count(*) filter (where failed_at > now() - interval '24 hours')::int as failed,
                      coalesce(extract(epoch from now() - min(created_at) filter (where sent_at is null and failed_at is null)), 0)::float8 as oldest
                 from public.notification_queue
                where sent_at is null
                group by type`,
      });
      return rows;
    }),
  );
  const sent = databaseSnapshot(log, "sent notifications", () =>
    read(async (client) => {
      const { rows } = await client.query<{ type: string; sent: number }>({
        text: `select type, count(*)::int as sent from public.notification_queue
                where sent_at > now() - interval '24 hours' group by type`,
      });
      return rows;
    }),
  );
  gaugeByType(registry, "nexus_notifications_pending", "Push notifications waiting to be sent (notification_queue rows neither sent nor failed), by type.", unsent, (r) => r.pending);
  gaugeByType(registry, "nexus_notifications_failed", "Push notifications that failed in the last 24 hours (device gone, refused, or retries exhausted), by type.", unsent, (r) => r.failed);
  gaugeByType(registry, "nexus_notifications_oldest_pending_seconds", "Age in seconds of the oldest pending push notification, by type: deliveries that are stuck.", unsent, (r) => r.oldest);
  gaugeByType(registry, "nexus_notifications_sent", "Push notifications a push service accepted in the last 24 hours, by type.", sent, (r) => r.sent);
}

/**
 * Notification gauges for GET /metrics, read from public.notification_queue at scrape time (every server reports
 * the same figures): deliveries pending now, and those sent and failed in the last hour, per push type, plus how
 * long the oldest pending one has waited. A failed delivery is one whose device is gone, whose push service
 * refused it for good, or whose retries ran out (notification_queue.last_error says which).
 */
import { Gauge, type Registry } from "prom-client";
import type { AppContext } from "../app.ts";
import { asService, databaseSnapshot } from "../metrics.ts";

interface NotificationRow {
  type: string;
  pending: number;
  sent_last_hour: number;
  failed_last_hour: number;
  oldest_pending_age_seconds: number | null;
}

// Three index scans (pending by type, sent_at, failed_at), never the whole queue.
const QUERY = `
  with pending as (
    select q.type, count(*)::int as n, extract(epoch from now() - min(q.created_at))::float8 as oldest
      from public.notification_queue q where q.sent_at is null and q.failed_at is null group by q.type
  ), sent as (
    select q.type, count(*)::int as n from public.notification_queue q
     where q.sent_at > now() - interval '1 hour' group by q.type
  ), failed as (
    select q.type, count(*)::int as n from public.notification_queue q
     where q.failed_at > now() - interval '1 hour' group by q.type
  )
  select t.type, coalesce(p.n, 0) as pending, coalesce(s.n, 0) as sent_last_hour, coalesce(f.n, 0) as failed_last_hour,
         p.oldest as oldest_pending_age_seconds
    from (select type from pending union select type from sent union select type from failed) t
    left join pending p using (type) left join sent s using (type) left join failed f using (type)`;

export function notificationMetrics(registry: Registry, { pool, log }: AppContext): void {
  const read = asService(pool);
  const snapshot = databaseSnapshot(log, "notification queue", () =>
    read(async (client) => (await client.query<NotificationRow>({ text: QUERY })).rows),
  );
  const gauge = (name: string, help: string, value: (row: NotificationRow) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["type"],
      registers: [registry],
      async collect() {
        const rows = await snapshot();
        if (!rows) return;
        this.reset();
        for (const row of rows) this.set({ type: row.type }, value(row));
      },
    });
  gauge("nexus_notifications_pending", "Push deliveries queued and not yet sent or failed, per type (RESCUE_FLARE, SIM_POD_READY, …).", (r) => r.pending);
  gauge("nexus_notifications_sent_last_hour", "Push deliveries a push service accepted in the last hour, per type.", (r) => r.sent_last_hour);
  gauge(
    "nexus_notifications_failed_last_hour",
    "Push deliveries that failed for good in the last hour (device gone, refused, retries exhausted), per type.",
    (r) => r.failed_last_hour,
  );
  gauge(
    "nexus_notifications_oldest_pending_age_seconds",
    "How long the oldest pending push delivery of each type has waited (0 when none is pending).",
    (r) => Math.max(0, r.oldest_pending_age_seconds ?? 0),
  );
}

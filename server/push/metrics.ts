/**
 * `nexus_notifications_sent{type}`: push deliveries a push service accepted in the last 24 hours, next to the
 * module's pending, failed (24 h) and oldest-pending gauges, so /metrics shows notifications pending, sent and
 * failed (issue #7). Read at scrape time through the runbook's "recent deliveries" index on sent_at.
 */
import { Gauge, type Registry } from "prom-client";
import type { AppContext } from "../context.ts";
import { asService, databaseSnapshot } from "../metrics.ts";

export function sentNotificationsMetric(registry: Registry, { pool, log }: Pick<AppContext, "pool" | "log">): void {
  const read = asService(pool);
  const snapshot = databaseSnapshot(log, "sent notifications", () =>
    read(async (client) => {
      const { rows } = await client.query<{ type: string; sent: number }>({
        text: `select type, count(*)::int as sent from public.notification_queue
                where sent_at > now() - interval '24 hours' group by type`,
      });
      return rows;
    }),
  );
  new Gauge({
    name: "nexus_notifications_sent",
    help: "Push notifications a push service accepted in the last 24 hours, by type.",
    labelNames: ["type"],
    registers: [registry],
    async collect() {
      const rows = await snapshot();
      if (!rows) return;
      this.reset();
      for (const row of rows) this.set({ type: row.type }, row.sent);
    },
  });
}

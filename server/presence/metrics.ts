/**
 * Presence on /metrics, read at scrape time as service_role: open sessions, and the runbook's stale-presence
 * count (sessions that joined over 10 minutes ago and never left: possible lost webhooks); and, from this
 * process's memory, the voicePresenceChanged subscriptions it holds open.
 */
import { Gauge, type Registry } from "prom-client";
import type { AppContext } from "../context.ts";
import { asService, databaseSnapshot } from "../metrics.ts";
import type { PresenceSubscriptions } from "./subscriptions.ts";

export function presenceMetrics(registry: Registry, { pool, log }: Pick<AppContext, "pool" | "log">, subscriptions: PresenceSubscriptions): void {
  const read = asService(pool);
  const snapshot = databaseSnapshot(log, "presence", () =>
    read(async (client) => {
      const { rows } = await client.query<{ open: number; stale: number }>({
        text: `select count(*) filter (where left_at is null)::int as open,
                      (select stale_count from nexus_private.stale_presence)::int as stale
                 from public.voice_presence where left_at is null`,
      });
      return rows[0]!;
    }),
  );
  new Gauge({
    name: "nexus_presence_open",
    help: "Open voice presence sessions (people connected to a LiveKit room, as mirrored from webhooks).",
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.open);
    },
  });
  new Gauge({
    name: "nexus_presence_stale",
    help: "Open sessions that joined over 10 minutes ago (the runbook's stale-presence check: possible lost webhooks).",
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.stale);
    },
  });
  new Gauge({
    name: "nexus_presence_subscriptions",
    help: "voicePresenceChanged subscriptions this server holds open (each listens on the net's and the subscriber's channels).",
    registers: [registry],
    collect() {
      this.set(subscriptions.open);
    },
  });
}

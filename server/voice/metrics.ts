/**
 * Live voice rights on /metrics (issue #13), read at scrape time from the audit the worker writes
 * (nexus_private.voice_rights_stats(), last hour), so every server reports the same figures:
 *  - `nexus_voice_rights_updates{outcome}`: LiveKit answers by outcome (updated, removed, not_present, failed);
 *  - `nexus_voice_rights_lag_seconds{quantile}`: from the change (its trigger, in the changing transaction) to
 *    LiveKit's answer, p50 and p99 over updates and removals.
 */
import { Gauge, type Registry } from "prom-client";
import type { AppContext } from "../context.ts";
import { asService, databaseSnapshot } from "../metrics.ts";

const OUTCOMES = ["updated", "removed", "not_present", "failed"] as const;

export function liveRightsMetrics(registry: Registry, { pool, log }: Pick<AppContext, "pool" | "log">): void {
  const read = asService(pool);
  const snapshot = databaseSnapshot(log, "live voice rights", () =>
    read(async (client) => {
      const { rows } = await client.query<{ outcomes: Record<string, number>; lag_p50: number | null; lag_p99: number | null }>({
        text: "select * from nexus_private.voice_rights_stats()",
      });
      return rows[0]!;
    }),
  );
  new Gauge({
    name: "nexus_voice_rights_updates",
    help: "Live voice rights sent to LiveKit in the last hour, by outcome (updated, removed, not_present, failed).",
    labelNames: ["outcome"],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (!s) return;
      for (const outcome of OUTCOMES) this.set({ outcome }, Number(s.outcomes[outcome] ?? 0));
    },
  });
  new Gauge({
    name: "nexus_voice_rights_lag_seconds",
    help: "Seconds from a clearance change to LiveKit's answer for the participants it touched, last hour (p50, p99).",
    labelNames: ["quantile"],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      if (!s || s.lag_p50 === null || s.lag_p99 === null) return;
      this.set({ quantile: "0.5" }, s.lag_p50);
      this.set({ quantile: "0.99" }, s.lag_p99);
    },
  });
}

/**
 * Micro-batched job enqueueing for the webhook shim. Requests arriving within a few milliseconds share one
 * `nexus_private.enqueue_livekit_webhooks` call (graphile-worker's add_jobs: one statement, one commit); each
 * request is answered only after the batch that holds its event has committed, so a 200 still means "durably
 * queued". Events with the same job key in one batch (LiveKit redelivering) collapse into one.
 *
 * Presence events of one micro-batch become ONE job (BATCHED below: presence__apply_event's events go as one
 * presence__apply_events job), applied by the worker in one statement: a job per event cost more in queue
 * bookkeeping (insert, fetch, complete) and per-event transactions than applying the event itself, and on shared
 * cores the worker's share throttled ingest (docs/BENCHMARKS.md). The price: a redelivery in a later batch is no
 * longer deduplicated by job key, only applied again, which the SQL makes harmless (idempotent, order-tolerant).
 * A batch Postgres refuses for one event's data is queued again event by event, so only that event fails.
 */
import type { Pool } from "pg";
import { ApiError, toApiError } from "../../core/errors.ts";

export interface JobSpec {
  identifier: string;
  payload: unknown;
  jobKey: string;
  maxAttempts: number;
}

interface Pending {
  spec: JobSpec;
  resolve(): void;
  reject(error: unknown): void;
}

/** Task whose jobs one micro-batch sends as a single job of another task, with payload `{ events: [...] }`. */
export const BATCHED: Readonly<Record<string, string>> = { presence__apply_event: "presence__apply_events" };

export class JobBatcher {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly pool: Pool;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;

  constructor(pool: Pool, options: { maxBatch?: number; maxWaitMs?: number } = {}) {
    this.pool = pool;
    this.maxBatch = options.maxBatch ?? 200;
    this.maxWaitMs = options.maxWaitMs ?? 2;
  }

  add(spec: JobSpec): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ spec, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.enqueue(batch);
  }

  private enqueue(batch: Pending[]): void {
    const byKey = new Map<string, JobSpec>();
    for (const { spec } of batch) byKey.set(spec.jobKey, spec);
    const specs: { identifier: string; payload: unknown; job_key: string | null; max_attempts: number }[] = [];
    const collapsed = new Map<string, { payloads: unknown[]; maxAttempts: number }>();
    for (const s of byKey.values()) {
      const into = BATCHED[s.identifier];
      if (!into) {
        specs.push({ identifier: s.identifier, payload: s.payload, job_key: s.jobKey, max_attempts: s.maxAttempts });
        continue;
      }
      const group = collapsed.get(into) ?? { payloads: [], maxAttempts: 0 };
      group.payloads.push(s.payload);
      group.maxAttempts = Math.max(group.maxAttempts, s.maxAttempts);
      collapsed.set(into, group);
    }
    for (const [identifier, group] of collapsed) specs.push({ identifier, payload: { events: group.payloads }, job_key: null, max_attempts: group.maxAttempts });
    // The login role may add these jobs through this one function only (db/functions/16_queue_access.sql).
    this.pool.query("select nexus_private.enqueue_livekit_webhooks($1::json)", [JSON.stringify(specs)]).then(
      () => batch.forEach((p) => p.resolve()),
      (error: Error & { code?: string }) => {
        // One event's data that Postgres refuses (SQLSTATE class 22, data exception, or 23, a constraint) must not
        // fail the others that shared its batch: each is queued again on its own, and only that one fails.
        if (batch.length > 1 && typeof error.code === "string" && /^2[23]/.test(error.code)) {
          for (const pending of batch) this.enqueue([pending]);
          return;
        }
        // An event we could not queue is our fault, whatever the database said (a missing grant reads 42501,
        // which would otherwise pass for a client's INSUFFICIENT_CLEARANCE): 5xx, so LiveKit delivers it again.
        const refused = toApiError(error);
        const failure = refused.status >= 500 ? refused : new ApiError("INTERNAL", "the event could not be queued", { cause: error });
        batch.forEach((p) => p.reject(failure));
      },
    );
  }
}

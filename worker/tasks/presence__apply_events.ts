/**
 * Apply a micro-batch of verified LiveKit webhook events (the webhook shim queues one job per batch of requests
 * it answered together, server/presence/enqueue.ts) to voice_presence in one statement and one transaction. The
 * SQL is idempotent and order-tolerant, so at-least-once delivery, redeliveries in other batches and retries are
 * harmless. If one event cannot be applied (NX400), the batch's events are applied one by one and only that one
 * is dropped, as presence__apply_event drops it.
 */
import type { Task } from "graphile-worker";
import type { PresenceEvent } from "../../core/presence/events.ts";
import { workerContext } from "../context.ts";
import { applyOne, isEvent } from "./presence__apply_event.ts";

const task: Task = async (payload, helpers) => {
  const { log } = workerContext();
  const events = (payload as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) {
    log.error({ jobId: helpers.job.id, payload }, "presence__apply_events: payload is not a batch of events; dropped");
    return;
  }
  const valid = events.filter((e): e is PresenceEvent => isEvent(e));
  if (valid.length < events.length) {
    log.error({ jobId: helpers.job.id, dropped: events.length - valid.length }, "presence__apply_events: payloads that are not normalised events; dropped");
  }
  if (valid.length === 0) return;
  try {
    await helpers.withPgClient((client) => client.query("select nexus_private.apply_livekit_events($1::jsonb)", [JSON.stringify(valid)]));
    log.debug({ jobId: helpers.job.id, events: valid.length }, "presence events applied");
  } catch (error) {
    if ((error as { code?: string }).code !== "NX400") throw error;
    for (const event of valid) await applyOne(event, helpers, log);
  }
};

export default task;

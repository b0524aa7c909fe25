/**
 * Apply one verified LiveKit webhook event to voice_presence: jobs queued one per event (by servers before
 * batching, server/presence/enqueue.ts, and by tests); batches are presence__apply_events.
 * The SQL is idempotent and order-tolerant, so at-least-once delivery and retries are harmless.
 */
import type { Task } from "graphile-worker";
import type { PresenceEvent } from "../../core/presence/events.ts";
import type { Logger } from "../../core/log.ts";
import { workerContext } from "../context.ts";

export function isEvent(payload: unknown): payload is PresenceEvent {
  const p = payload as PresenceEvent;
  return !!p && typeof p.id === "string" && typeof p.event === "string" && typeof p.room === "string" && typeof p.createdAt === "number";
}

/** Apply one event; an event that cannot be applied (NX400) is logged and dropped, anything else throws. */
export async function applyOne(payload: PresenceEvent, helpers: Parameters<Task>[1], log: Logger): Promise<void> {
  try {
    const { rows } = await helpers.withPgClient((client) =>
      client.query<{ outcome: string }>("select nexus_private.apply_livekit_event($1::jsonb) as outcome", [payload]),
    );
    log.debug({ eventId: payload.id, event: payload.event, room: payload.room, outcome: rows[0]?.outcome }, "presence event applied");
  } catch (error) {
    if ((error as { code?: string }).code === "NX400") {
      log.error({ err: error, eventId: payload.id }, "presence__apply_event: event cannot be applied; dropped");
      return;
    }
    throw error;
  }
}

const task: Task = async (payload, helpers) => {
  const { log } = workerContext();
  if (!isEvent(payload)) {
    // Retrying cannot fix a payload; say so once, loudly, and let the job complete.
    log.error({ jobId: helpers.job.id, payload }, "presence__apply_event: payload is not a normalised event; dropped");
    return;
  }
  await applyOne(payload, helpers, log);
};

export default task;

/**
 * Apply one verified LiveKit webhook event (enqueued by server/presence/rest.ts) to voice_presence.
 * The SQL is idempotent and order-tolerant, so at-least-once delivery and retries are harmless.
 */
import type { Task } from "graphile-worker";
import type { PresenceEvent } from "../../core/presence/events.ts";
import { workerContext } from "../context.ts";

function isEvent(payload: unknown): payload is PresenceEvent {
  const p = payload as PresenceEvent;
  return !!p && typeof p.id === "string" && typeof p.event === "string" && typeof p.room === "string" && typeof p.createdAt === "number";
}

const task: Task = async (payload, helpers) => {
  const { log } = workerContext();
  if (!isEvent(payload)) {
    // Retrying cannot fix a payload; say so once, loudly, and let the job complete.
    log.error({ jobId: helpers.job.id, payload }, "presence__apply_event: payload is not a normalised event; dropped");
    return;
  }
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
};

export default task;

/**
 * Apply one verified LiveKit webhook event (enqueued by server/presence/rest.ts) to voice_presence.
 * The SQL is idempotent and order-tolerant, so at-least-once delivery and retries are harmless.
 */
import type { Task } from "graphile-worker";
import type { PresenceEvent } from "../../core/presence/events.ts";
import { workerContext } from "../context.ts";
import { giveUp } from "../payload.ts";

function isEvent(payload: unknown): payload is PresenceEvent {
  const p = payload as PresenceEvent;
  return !!p && typeof p.id === "string" && typeof p.event === "string" && typeof p.room === "string" && typeof p.createdAt === "number";
}

const task: Task = async (payload, helpers) => {
  const { log } = workerContext();
  if (!isEvent(payload)) {
    throw await giveUp(helpers, "payload is not a normalised presence event (id, event, room, createdAt)", { payload });
  }
  try {
    const { rows } = await helpers.withPgClient((client) =>
      client.query<{ outcome: string }>("select nexus_private.apply_livekit_event($1::jsonb) as outcome", [payload]),
    );
    log.debug({ eventId: payload.id, event: payload.event, room: payload.room, outcome: rows[0]?.outcome }, "presence event applied");
  } catch (error) {
    if ((error as { code?: string }).code === "NX400") {
      // The database says this event can never be applied (BAD_REQUEST): retrying cannot change that.
      throw await giveUp(helpers, `the event cannot be applied: ${(error as { detail?: string }).detail ?? (error as Error).message}`, { eventId: payload.id });
    }
    throw error;
  }
};

export default task;

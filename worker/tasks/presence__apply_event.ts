/**
 * Apply one verified LiveKit webhook event to voice_presence: jobs of one event each (queued before the webhook
 * shim batched them, server/presence/enqueue.ts, and by tests); batches are presence__apply_events.
 * The SQL is idempotent and order-tolerant, so at-least-once delivery and retries are harmless.
 */
import type { JobHelpers, Task } from "graphile-worker";
import type { PresenceEvent } from "../../core/presence/events.ts";
import { workerContext } from "../context.ts";
import { giveUp } from "../payload.ts";

export function isEvent(payload: unknown): payload is PresenceEvent {
  const p = payload as PresenceEvent;
  return !!p && typeof p.id === "string" && typeof p.event === "string" && typeof p.room === "string" && typeof p.createdAt === "number";
}

/**
 * Apply one event. An event the database says can never be applied (NX400) comes back as its reason (retrying
 * cannot change that); anything else throws, for a retry.
 */
export async function applyOne(payload: PresenceEvent, helpers: JobHelpers): Promise<string | undefined> {
  try {
    const { rows } = await helpers.withPgClient((client) =>
      client.query<{ outcome: string }>("select nexus_private.apply_livekit_event($1::jsonb) as outcome", [payload]),
    );
    workerContext().log.debug({ eventId: payload.id, event: payload.event, room: payload.room, outcome: rows[0]?.outcome }, "presence event applied");
    return undefined;
  } catch (error) {
    if ((error as { code?: string }).code === "NX400") return (error as { detail?: string }).detail ?? (error as Error).message;
    throw error;
  }
}

const task: Task = async (payload, helpers) => {
  if (!isEvent(payload)) {
    throw await giveUp(helpers, "payload is not a normalised presence event (id, event, room, createdAt)", { payload });
  }
  const refused = await applyOne(payload, helpers);
  if (refused !== undefined) throw await giveUp(helpers, `the event cannot be applied: ${refused}`, { eventId: payload.id });
};

export default task;

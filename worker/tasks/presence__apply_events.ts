/**
 * Apply a micro-batch of verified LiveKit webhook events (the webhook shim queues one job per batch of requests
 * it answered together, server/presence/enqueue.ts) to voice_presence in one statement and one transaction. The
 * SQL is idempotent and order-tolerant, so at-least-once delivery, redeliveries in other batches and retries are
 * harmless. If an event cannot be applied (NX400), the batch's events are applied one by one, and the job then
 * becomes a dead letter naming the events that could not be (the others are applied; a retry is harmless).
 */
import type { Task } from "graphile-worker";
import type { PresenceEvent } from "../../core/presence/events.ts";
import { workerContext } from "../context.ts";
import { giveUp } from "../payload.ts";
import { applyOne, isEvent } from "./presence__apply_event.ts";

const task: Task = async (payload, helpers) => {
  const events = (payload as { events?: unknown } | null)?.events;
  if (!Array.isArray(events) || events.length === 0 || !events.every(isEvent)) {
    throw await giveUp(helpers, "payload is not a batch of normalised presence events ({ events: [...] })", { payload });
  }
  const valid = events as PresenceEvent[];
  try {
    await helpers.withPgClient((client) => client.query("select nexus_private.apply_livekit_events($1::jsonb)", [JSON.stringify(valid)]));
    workerContext().log.debug({ jobId: helpers.job.id, events: valid.length }, "presence events applied");
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== "NX400") throw error;
  }
  const refused: { eventId: string; reason: string }[] = [];
  for (const event of valid) {
    const reason = await applyOne(event, helpers);
    if (reason !== undefined) refused.push({ eventId: event.id, reason });
  }
  if (refused.length > 0) throw await giveUp(helpers, `${refused.length} of ${valid.length} events cannot be applied: ${refused[0]!.reason}`, { refused });
};

export default task;

/**
 * LiveKit webhook bodies, normalised into the one shape the `presence__apply_event` task and
 * nexus_private.apply_livekit_event() understand. Two dialects arrive:
 *  - LiveKit's own (application/webhook+json, camelCase, int64 as strings, `room` an object, an `id`);
 *  - the old runbook's hand-made test body (`"room": "test-room"`, `timestamp` in seconds, no id).
 */
import { createHash } from "node:crypto";
import type { WebhookEvent } from "livekit-server-sdk";

export const PRESENCE_EVENTS = new Set(["participant_joined", "participant_left", "participant_connection_aborted", "room_finished"]);

export interface PresenceEvent {
  /** LiveKit's event id; for bodies without one, a hash of the body, so a redelivery is still one job. */
  id: string;
  event: string;
  room: string;
  participant?: { identity: string; sid: string; name?: string; metadata?: string; permission?: ParticipantRights };
  /** Event time, epoch seconds. */
  createdAt: number;
}

/** The rights LiveKit reports a participant holds (its token's, until the RoomService changes them). */
export interface ParticipantRights {
  canSubscribe: boolean;
  canPublish: boolean;
  canPublishData: boolean;
}

export class MalformedEvent extends Error {}

function bodyId(raw: string): string {
  return `body-${createHash("sha256").update(raw).digest("hex").slice(0, 32)}`;
}

export function fromLiveKit(event: WebhookEvent, raw: string, receivedAt: number): PresenceEvent {
  if (!event.event) throw new MalformedEvent("the body has no event name");
  const createdAt = Number(event.createdAt);
  const participant = event.participant
    ? {
        identity: event.participant.identity,
        sid: event.participant.sid,
        name: event.participant.name || undefined,
        metadata: event.participant.metadata || undefined,
        permission: event.participant.permission
          ? {
              canSubscribe: event.participant.permission.canSubscribe,
              canPublish: event.participant.permission.canPublish,
              canPublishData: event.participant.permission.canPublishData,
            }
          : undefined,
      }
    : undefined;
  return {
    id: event.id || bodyId(raw),
    event: event.event,
    room: event.room?.name ?? "",
    participant,
    createdAt: Number.isFinite(createdAt) && createdAt > 0 ? createdAt : receivedAt,
  };
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The runbook's hand-made body (Phase 4.2) and other loosely typed JSON bodies. */
export function fromLooseJson(raw: string, receivedAt: number): PresenceEvent {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new MalformedEvent("the body is not JSON");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new MalformedEvent("the body is not a JSON object");
  const b = body as Record<string, any>;
  const event = str(b.event);
  if (!event) throw new MalformedEvent("the body has no event name");
  const room = typeof b.room === "string" ? b.room : str(b.room?.name);
  const p = b.participant && typeof b.participant === "object" ? b.participant : undefined;
  const time = Number(b.createdAt ?? b.timestamp);
  const metadata = typeof p?.metadata === "string" ? p.metadata : p?.metadata ? JSON.stringify(p.metadata) : undefined;
  return {
    id: str(b.id) ?? bodyId(raw),
    event,
    room: room ?? "",
    participant: p ? { identity: String(p.identity ?? ""), sid: String(p.sid ?? ""), name: str(p.name), metadata } : undefined,
    createdAt: Number.isFinite(time) && time > 0 ? time : receivedAt,
  };
}

/**
 * How far past its receipt an event may be dated. Further than this is a wrong clock or a forgery: a `joined`
 * dated in the year 3000 would make every later real join to the room land already closed.
 */
export const MAX_FUTURE_SECONDS = 300;

/** Check what the apply step needs, so a bad event is a 400 at the door rather than a failing job. */
export function assertApplicable(event: PresenceEvent, receivedAt: number): void {
  if (event.createdAt > receivedAt + MAX_FUTURE_SECONDS) {
    throw new MalformedEvent(`the event is dated ${Math.round(event.createdAt - receivedAt)} s in the future (at most ${MAX_FUTURE_SECONDS} s allowed)`);
  }
  if (!PRESENCE_EVENTS.has(event.event)) return;
  if (!event.room) throw new MalformedEvent(`${event.event} without a room name`);
  if (event.event !== "room_finished" && (!event.participant?.identity || !event.participant.sid)) {
    throw new MalformedEvent(`${event.event} without participant identity and sid`);
  }
}

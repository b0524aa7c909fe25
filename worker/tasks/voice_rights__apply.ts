/**
 * Live voice rights: apply the database's decision to the participants connected on the nets (or sim pods) a
 * change touched, through LiveKit's RoomService. Enqueued by the triggers in db/functions/63_voice_rights_live.sql
 * under a job key (nexus_private.voice_rights_job_key(): four shared by members, one per net or sim pod), its
 * payload the changes it answers for (a waiting job takes later changes under the same key into its payload).
 *
 * The SQL decides everything: voice_rights_claim() locks the participants in the job's scope who need an update or
 * a removal and says what to send; voice_rights_record() stores LiveKit's answers in the same transaction, so
 * concurrent jobs never apply to one participant at once and a retry skips what was applied. This task only
 * sends: updateParticipant with the decided canSubscribe/canPublish/canPublishData, or removeParticipant, each
 * with the LIVEKIT_TIMEOUT_MS deadline.
 *
 * Where LiveKit did not answer, the answers that came are still recorded, and the rest is retried with
 * graphile-worker's exponential backoff, by a job without a key: a keyed job that fails for any reason hands its
 * changes to one (RETRY_AFTER_MS later) and ends, a keyless one fails. A keyed job cannot be the one retried: a
 * change enqueued under its key while it runs takes the key to a new job, and graphile-worker then never retries
 * the running one (it gives it its last attempt), while the new job covers only its own members.
 */
import type { JobHelpers, Task } from "graphile-worker";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { isNotFound, roomService, type RoomService } from "../../core/livekit/room-service.ts";
import { workerContext } from "../context.ts";
import { parsePayload } from "../payload.ts";

/** One change the job answers for, and the subject it names (exactly one of member, net, simPod). */
export interface VoiceRightsChange {
  change: number;
  member?: string;
  net?: string;
  simPod?: string;
}

const Payload = z
  .array(
    z.object({ change: z.number().int().positive(), member: z.uuid().optional(), net: z.uuid().optional(), simPod: z.string().min(1).optional() }),
  )
  .min(1) satisfies z.ZodType<VoiceRightsChange[]>;

interface ClaimRow {
  presence_id: string;
  room_name: string;
  participant_identity: string;
  action: "update" | "remove";
  can_subscribe: boolean;
  can_publish: boolean;
  can_publish_data: boolean;
}

interface Answer {
  presence: string;
  action: ClaimRow["action"];
  outcome: "updated" | "removed" | "not_present" | "failed";
  canSubscribe: boolean;
  canPublish: boolean;
  canPublishData: boolean;
  error?: string;
  /** False for a participant the job did not send (LiveKit was not answering). */
  sent?: false;
}

/** One RoomService per worker process: its per-room tokens are shared by every job. */
let shared: { config: Config; rooms: RoomService | null } | undefined;

function roomsFor(config: Config): RoomService | null {
  if (shared?.config !== config) shared = { config, rooms: roomService(config) };
  return shared.rooms;
}

/**
 * RoomService calls in flight at once for one job (a gate raised on a full net is one job). When they all fail,
 * LiveKit is taken to be down and the job's other participants are not sent (they are recorded failed, and
 * retried with the rest): a job over a thousand participants would otherwise wait out the deadline sixty times
 * over, its transaction open, before its retry.
 */
const PARALLEL = 16;

/** When a keyed job's unanswered calls are first tried again (graphile-worker's own backoff starts near 3 s). */
const RETRY_AFTER_MS = 3000;

/** What was decided for one participant, as its answer will record it. */
function decided(claim: ClaimRow): Omit<Answer, "outcome" | "error" | "sent"> {
  return {
    presence: claim.presence_id,
    action: claim.action,
    canSubscribe: claim.can_subscribe,
    canPublish: claim.can_publish,
    canPublishData: claim.can_publish_data,
  };
}

/** Send one decision; LiveKit's 404 means the participant is no longer there, anything else is a failure. */
async function send(rooms: RoomService, claim: ClaimRow): Promise<Answer> {
  const answer = decided(claim);
  const rights = { canSubscribe: answer.canSubscribe, canPublish: answer.canPublish, canPublishData: answer.canPublishData };
  try {
    if (claim.action === "remove") {
      await rooms.room(claim.room_name).removeParticipant(claim.room_name, claim.participant_identity);
      return { ...answer, outcome: "removed" };
    }
    await rooms.room(claim.room_name).updateParticipant(claim.room_name, claim.participant_identity, { permission: rights });
    return { ...answer, outcome: "updated" };
  } catch (error) {
    if (isNotFound(error)) return { ...answer, outcome: "not_present" };
    return { ...answer, outcome: "failed", error: error instanceof Error ? error.message : String(error) };
  }
}

/** Claim, send and record in one transaction; throws when LiveKit did not answer every call (or on any error). */
async function apply(rooms: RoomService, changes: VoiceRightsChange[], helpers: JobHelpers): Promise<void> {
  const { log } = workerContext();
  const unique = <T>(values: (T | undefined)[]) => [...new Set(values.filter((v): v is T => v !== undefined))];
  const changeIds = unique(changes.map((c) => c.change));
  const members = unique(changes.map((c) => c.member));
  const nets = unique(changes.map((c) => c.net));
  const simPods = unique(changes.map((c) => c.simPod));

  // One transaction: claim (locks the participants), send, record. Its locks make a concurrent job touching
  // the same participants wait for this one's answers instead of sending alongside it.
  const answers = await helpers.withPgClient(async (client) => {
    await client.query("begin");
    try {
      const { rows: claims } = await client.query<ClaimRow>("select * from nexus_private.voice_rights_claim($1, $2, $3)", [members, nets, simPods]);
      const answers: (Answer | undefined)[] = new Array(claims.length);
      let next = 0;
      let succeeded = 0;
      // A lane whose call failed with no other call getting through meanwhile stops: with LiveKit down, the job
      // sends one call per lane and waits out one deadline, not one per participant.
      const lane = async () => {
        while (next < claims.length) {
          const i = next++;
          const before = succeeded;
          const answer = await send(rooms, claims[i]!);
          answers[i] = answer;
          if (answer.outcome !== "failed") succeeded++;
          else if (succeeded === before) return;
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, claims.length) }, lane));
      for (const [i, claim] of claims.entries()) {
        answers[i] ??= { ...decided(claim), outcome: "failed", error: "not sent: LiveKit answered none of the calls before it", sent: false };
      }
      if (answers.length > 0) {
        await client.query("select nexus_private.voice_rights_record($1::jsonb, $2)", [JSON.stringify(answers), changeIds]);
      }
      await client.query("commit");
      return answers as Answer[];
    } catch (error) {
      await client.query("rollback").catch(() => {});
      throw error;
    }
  });

  const failed = answers.filter((a) => a.outcome === "failed");
  if (failed.length > 0) {
    // The first failure of a call that was sent says why; "not sent" ones only follow from it.
    const error = (failed.find((a) => a.sent !== false) ?? failed[0]!).error;
    log.warn({ failed: failed.length, participants: answers.length, changes: changeIds, error }, "live voice rights: LiveKit did not answer");
    throw new Error(`LiveKit did not answer for ${failed.length} of ${answers.length} participants: ${error}`);
  }
  if (answers.length > 0) log.debug({ applied: answers.length, changes: changeIds }, "live voice rights applied");
}

const task: Task = async (payload, helpers) => {
  const changes = await parsePayload(Payload, payload, helpers);
  const { config, log } = workerContext();
  const rooms = roomsFor(config);
  if (!rooms) {
    log.debug("live voice rights skipped: LiveKit is not configured");
    return;
  }
  try {
    await apply(rooms, changes, helpers);
  } catch (error) {
    // A keyless job is retried by graphile-worker, with backoff. A keyed one is not reliably (see the top of this
    // file): its changes go to a keyless job, whatever stopped it.
    if (helpers.job.key === null) throw error;
    await helpers.addJob("voice_rights__apply", changes, { runAt: new Date(Date.now() + RETRY_AFTER_MS) });
    log.warn({ err: error, job: helpers.job.id, key: helpers.job.key, retryInMs: RETRY_AFTER_MS }, "live voice rights not applied: handed to a retry job");
  }
};

export default task;

/**
 * Live voice rights: apply the database's decision to the participants connected on the nets (or sim pods) a
 * change touched, through LiveKit's RoomService. Enqueued by the triggers in db/functions/63_voice_rights_live.sql,
 * one job per member, net or sim pod (job key), its payload the changes it answers for (a waiting job takes
 * later changes of the same subject into its payload).
 *
 * The SQL decides everything: voice_rights_due() lists who needs an update or a removal; per participant,
 * voice_rights_claim() locks and decides again inside the transaction that voice_rights_record() commits with
 * LiveKit's answer, so concurrent jobs never apply to one participant at once and a retry skips what was applied.
 * This task only sends: updateParticipant with the decided canSubscribe/canPublish/canPublishData, or
 * removeParticipant. LiveKit unreachable: the rest is left for the retry (graphile-worker's exponential backoff),
 * and the job fails so it comes back.
 */
import type { PoolClient } from "pg";
import type { Task } from "graphile-worker";
import type { RoomServiceClient } from "livekit-server-sdk";
import { z } from "zod";
import { isNotFound, roomService } from "../../core/livekit/room-service.ts";
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

interface DueRow {
  presence_id: string;
  room_name: string;
  participant_identity: string;
  action: "update" | "remove";
}

interface ClaimRow extends DueRow {
  can_subscribe: boolean;
  can_publish: boolean;
  can_publish_data: boolean;
}

/** Participants handled at once by one job: each holds a connection while LiveKit answers. */
const PARALLEL = 8;

async function asService<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query("begin");
  try {
    await client.query("select set_config('role', 'service_role', true)");
    const result = await fn();
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  }
}

/** Apply the decision to one participant; throws when LiveKit did not answer (after recording the failure). */
async function applyOne(client: PoolClient, rooms: RoomServiceClient, presenceId: string, changeIds: number[]): Promise<void> {
  const failure = await asService(client, async () => {
    const { rows } = await client.query<ClaimRow>("select * from nexus_private.voice_rights_claim($1)", [presenceId]);
    const claim = rows[0];
    if (!claim) return undefined;
    let outcome: "updated" | "removed" | "not_present" | "failed";
    let failure: unknown;
    try {
      if (claim.action === "remove") {
        await rooms.removeParticipant(claim.room_name, claim.participant_identity);
        outcome = "removed";
      } else {
        await rooms.updateParticipant(claim.room_name, claim.participant_identity, {
          permission: { canSubscribe: claim.can_subscribe, canPublish: claim.can_publish, canPublishData: claim.can_publish_data },
        });
        outcome = "updated";
      }
    } catch (error) {
      if (isNotFound(error)) {
        outcome = "not_present";
      } else {
        outcome = "failed";
        failure = error;
      }
    }
    await client.query("select nexus_private.voice_rights_record($1, $2, $3, $4, $5, $6, $7, $8)", [
      claim.presence_id,
      claim.action,
      outcome,
      claim.can_subscribe,
      claim.can_publish,
      claim.can_publish_data,
      changeIds,
      failure === undefined ? null : String((failure as Error).message ?? failure),
    ]);
    return failure;
  });
  if (failure !== undefined) throw failure;
}

const task: Task = async (payload, helpers) => {
  const changes = parsePayload(Payload, payload, helpers);
  if (!changes) return;
  const { config, log } = workerContext();
  const rooms = roomService(config);
  if (!rooms) {
    log.debug("live voice rights skipped: LiveKit is not configured");
    return;
  }
  const unique = <T>(values: (T | undefined)[]) => [...new Set(values.filter((v): v is T => v !== undefined))];
  const changeIds = unique(changes.map((c) => c.change));
  const members = unique(changes.map((c) => c.member));
  const nets = unique(changes.map((c) => c.net));
  const simPods = unique(changes.map((c) => c.simPod));

  const due = await helpers.withPgClient((client) =>
    asService(client, async () =>
      (await client.query<DueRow>("select * from nexus_private.voice_rights_due($1, $2, $3)", [members, nets, simPods])).rows,
    ),
  );
  if (due.length === 0) return;

  let next = 0;
  let failure: unknown;
  let failed = 0;
  const lane = async () => {
    while (failure === undefined && next < due.length) {
      const row = due[next++]!;
      try {
        await helpers.withPgClient((client) => applyOne(client, rooms, row.presence_id, changeIds));
      } catch (error) {
        failed++;
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, due.length) }, lane));
  if (failure !== undefined) {
    log.warn({ err: failure, failed, due: due.length, changes: changeIds }, "live voice rights: LiveKit did not answer; the rest is retried");
    throw failure;
  }
  log.debug({ applied: due.length, changes: changeIds }, "live voice rights applied");
};

export default task;

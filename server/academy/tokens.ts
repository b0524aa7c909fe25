/**
 * Sim pod tokens: ask Postgres (public.accept_training, public.join_sim_pod) who the caller is in the pod and what
 * they may do there, then, with the connection back in the pool, sign exactly that with the voice module's
 * LiveKit signing code. GraphQL (acceptTraining, joinSimPod) and REST (academy-accept, academy-join) both come
 * through here.
 *
 * What `connectionTokens` holds: the caller's own token for the pod's room, and nothing else — one entry, the
 * mentor's (publish, subscribe, room admin of that room only). The cadet's token is never made for the mentor:
 * the cadet is paged (SIM_POD_READY, with the simPodId) and gets their own with joinSimPod. It stays an array
 * because the runbook's response body is `{"simPodId", "connectionTokens": [...]}`.
 */
import type { Config } from "../../core/config.ts";
import type { RunAsCaller } from "../../core/database/caller.ts";
import { liveKitCredentials, signParticipantToken } from "../../core/livekit/tokens.ts";

/** One row of public.accept_training() / public.join_sim_pod(): the caller's grant in a pod's room. */
export interface SimPodGrant {
  sim_pod: string;
  for_request: string;
  room: string;
  /** The pod's expiry, in milliseconds since the epoch. */
  expires_ms: number;
  participant: "CADET" | "MENTOR";
  member_id: string;
  callsign: string;
  rank: string;
  can_publish: boolean;
  can_subscribe: boolean;
  room_admin: boolean;
}

export interface SimPodToken {
  simPodId: string;
  requestId: string;
  participant: "CADET" | "MENTOR";
  /** The LiveKit participant identity: the member's user id. */
  identity: string;
  roomName: string;
  serverUrl: string;
  token: string;
  canPublish: boolean;
  canSubscribe: boolean;
  roomAdmin: boolean;
  /** When the token stops admitting new connections: LIVEKIT_TOKEN_TTL, or the pod's expiry if sooner. */
  expiresAt: string;
  podExpiresAt: string;
}

export interface TrainingAcceptance {
  simPodId: string;
  requestId: string;
  roomName: string;
  expiresAt: string;
  connectionTokens: SimPodToken[];
}


// Column list rather than `*`: the expiry travels as epoch milliseconds, whatever type parsers the pool has.
const GRANT_COLUMNS = `g.sim_pod, g.for_request, g.room, (extract(epoch from g.expires) * 1000)::float8 as expires_ms,
  g.participant, g.member_id, g.callsign, g.rank::text as rank, g.can_publish, g.can_subscribe, g.room_admin`;

async function oneGrant(asCaller: RunAsCaller, name: string, text: string, value: string): Promise<SimPodGrant> {
  const [result] = await asCaller([{ name, text, values: [value] }]);
  const row = result!.rows[0] as SimPodGrant | undefined;
  if (!row) throw new Error("the sim pod function returned no grant");
  return row;
}

/**
 * The mentor accepts (as the caller, in the caller's transaction): the database decides, makes the pod and queues
 * the cadet's page. Checks the LiveKit settings first, so a misconfigured server refuses before accepting
 * anything rather than accepting and then failing to sign.
 */
export function acceptTraining(asCaller: RunAsCaller, config: Config, requestId: string): Promise<SimPodGrant> {
  liveKitCredentials(config);
  // accept_training charges the caller's LiveKit token bucket itself (db/functions/80_rate_limits.sql).
  return oneGrant(asCaller, "nexus_accept_training", `select ${GRANT_COLUMNS} from public.accept_training($1::uuid) g`, requestId);
}

/** The caller's grant for a pod they are the cadet or mentor of (NOT_FOUND, INSUFFICIENT_CLEARANCE from SQL). */
export function loadSimPodGrant(asCaller: RunAsCaller, config: Config, simPodId: string): Promise<SimPodGrant> {
  liveKitCredentials(config);
  return oneGrant(asCaller, "nexus_join_sim_pod", `select ${GRANT_COLUMNS} from public.join_sim_pod($1::text) g`, simPodId);
}

/** Sign what the database granted. Runs after the database connection is released. */
export async function signSimPodToken(config: Config, grant: SimPodGrant): Promise<SimPodToken> {
  const credentials = liveKitCredentials(config);
  const podSecondsLeft = Math.floor((grant.expires_ms - Date.now()) / 1000);
  const { token, expiresAt } = await signParticipantToken(credentials, {
    room: grant.room,
    identity: grant.member_id,
    name: grant.callsign,
    metadata: { userId: grant.member_id, rank: grant.rank, callsign: grant.callsign, simPodId: grant.sim_pod, academyRole: grant.participant },
    canPublish: grant.can_publish,
    canSubscribe: grant.can_subscribe,
    canPublishData: grant.can_publish,
    roomAdmin: grant.room_admin,
    ttlSeconds: Math.max(1, Math.min(config.livekit.tokenTtlSeconds, podSecondsLeft)),
  });
  return {
    simPodId: grant.sim_pod,
    requestId: grant.for_request,
    participant: grant.participant,
    identity: grant.member_id,
    roomName: grant.room,
    serverUrl: credentials.url,
    token,
    canPublish: grant.can_publish,
    canSubscribe: grant.can_subscribe,
    roomAdmin: grant.room_admin,
    expiresAt: expiresAt.toISOString(),
    podExpiresAt: new Date(grant.expires_ms).toISOString(),
  };
}

/** The answer to an accept: the pod, and the accepting mentor's own token as the only connection token. */
export async function signAcceptance(config: Config, grant: SimPodGrant): Promise<TrainingAcceptance> {
  const mentorToken = await signSimPodToken(config, grant);
  return {
    simPodId: grant.sim_pod,
    requestId: grant.for_request,
    roomName: grant.room,
    expiresAt: mentorToken.podExpiresAt,
    connectionTokens: [mentorToken],
  };
}

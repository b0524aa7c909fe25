/**
 * Voice tokens: ask Postgres what the caller may do on each net (public.issue_voice_grants, one query for the
 * whole batch, bridged nets included), then, with the connection back in the pool, sign one LiveKit token per net
 * the caller may join and one per bridged net they may hear. GraphQL (issueVoiceToken, issueVoiceTokens) and REST
 * (livekit-token) both come through here.
 */
import type { Config } from "../../core/config.ts";
import type { RunAsCaller } from "../../core/database/caller.ts";
import { ApiError, type ErrorCode } from "../../core/errors.ts";
import { liveKitCredentials, signParticipantToken, type LiveKitCredentials } from "../../core/livekit/tokens.ts";

/** One row of public.issue_voice_grants(). */
interface GrantRow {
  ordinal: number;
  requested: string;
  net_id: string | null;
  room_name: string | null;
  net_name: string | null;
  bridged_from: string | null;
  can_join: boolean;
  can_rx: boolean;
  can_tx: boolean;
  error_code: ErrorCode | null;
  error_message: string | null;
  user_id: string;
  callsign: string;
  rank: string;
}

export interface BridgedVoiceToken {
  netId: string;
  roomName: string;
  netName: string;
  token: string;
  canPublish: boolean;
  canSubscribe: boolean;
  expiresAt: string;
}

export interface VoiceToken {
  netId: string;
  netName: string;
  token: string;
  serverUrl: string;
  roomName: string;
  identity: string;
  canPublish: boolean;
  canSubscribe: boolean;
  expiresAt: string;
  bridged: BridgedVoiceToken[];
}

export interface VoiceTokenResult {
  /** The net as the caller named it (id or room name). */
  requested: string;
  netId: string | null;
  roomName: string | null;
  voiceToken: VoiceToken | null;
  error: { code: ErrorCode; message: string } | null;
}

/**
 * One query for the whole batch; a named statement, so each connection parses and plans it once. The decision
 * charges the caller's LiveKit token bucket one token per token it grants (bridged included) in the same
 * transaction; nets past what the bucket holds come back RATE_LIMITED (db/functions/31_voice_access.sql).
 */
export const GRANTS_QUERY = {
  name: "nexus_issue_voice_grants",
  text: "select * from public.issue_voice_grants($1::text[])",
};

export type VoiceGrants = GrantRow[];


/**
 * Ask the database (as the caller) what they may do on each named net. Checks the LiveKit settings first so a
 * misconfigured server answers LIVEKIT_NOT_CONFIGURED without touching the database.
 */
export async function loadVoiceGrants(asCaller: RunAsCaller, config: Config, nets: readonly string[]): Promise<VoiceGrants> {
  liveKitCredentials(config);
  const [grants] = await asCaller([{ ...GRANTS_QUERY, values: [nets] }]);
  return grants!.rows as GrantRow[];
}

/**
 * Sign what the database granted: a token per net the caller may join, one per bridged net they may hear, and a
 * per-net error for the rest, in request order. Runs after the database connection is released.
 */
export function signVoiceTokens(config: Config, rows: VoiceGrants): VoiceTokenResult[] {
  const credentials = liveKitCredentials(config);
  const byOrdinal = new Map<number, { net: GrantRow; bridged: GrantRow[] }>();
  for (const row of rows) {
    if (row.bridged_from === null) byOrdinal.set(row.ordinal, { net: row, bridged: [] });
    else byOrdinal.get(row.ordinal)!.bridged.push(row);
  }
  return [...byOrdinal.values()].map(({ net, bridged }): VoiceTokenResult => {
    if (net.error_code) {
      return {
        requested: net.requested,
        netId: net.net_id,
        roomName: net.room_name,
        voiceToken: null,
        error: { code: net.error_code, message: net.error_message ?? net.error_code },
      };
    }
    const [main, ...extra] = [net, ...bridged].map((row) => sign(credentials, config, row));
    return {
      requested: net.requested,
      netId: net.net_id,
      roomName: net.room_name,
      error: null,
      voiceToken: {
        netId: net.net_id!,
        netName: net.net_name!,
        roomName: net.room_name!,
        serverUrl: credentials.url,
        identity: net.user_id,
        canPublish: net.can_tx,
        canSubscribe: net.can_rx,
        token: main!.token,
        expiresAt: main!.expiresAt,
        bridged: extra.map((signed, i) => ({
          netId: bridged[i]!.net_id!,
          roomName: bridged[i]!.room_name!,
          netName: bridged[i]!.net_name!,
          canPublish: bridged[i]!.can_tx,
          canSubscribe: bridged[i]!.can_rx,
          token: signed.token,
          expiresAt: signed.expiresAt,
        })),
      },
    };
  });
}

/** The single-net answer: its token, or the database's refusal (INSUFFICIENT_CLEARANCE, NOT_FOUND) as an ApiError. */
export function signVoiceToken(config: Config, rows: VoiceGrants): VoiceToken {
  const [result] = signVoiceTokens(config, rows);
  if (!result) throw new Error("issue_voice_grants returned no row for the requested net");
  if (result.error) throw new ApiError(result.error.code, result.error.message);
  return result.voiceToken!;
}

function sign(credentials: LiveKitCredentials, config: Config, row: GrantRow) {
  const { token, expiresAt } = signParticipantToken(credentials, {
    room: row.room_name!,
    identity: row.user_id,
    name: row.callsign,
    // A bridged token says which net it was issued with: its holder is in that room by the bridge, and loses it
    // when the bridge is unlinked (nexus_private.presence_clearance).
    metadata:
      row.bridged_from === null
        ? { userId: row.user_id, rank: row.rank, callsign: row.callsign }
        : { userId: row.user_id, rank: row.rank, callsign: row.callsign, bridgedFrom: row.bridged_from },
    canSubscribe: row.can_rx,
    canPublish: row.can_tx,
    canPublishData: row.can_tx,
    ttlSeconds: config.livekit.tokenTtlSeconds,
  });
  return { token, expiresAt: expiresAt.toISOString() };
}

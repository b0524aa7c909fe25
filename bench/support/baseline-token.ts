/**
 * The bare baselines' whole work for one voice token (bench/support/voice-baseline.ts over node:http,
 * bench/support/graphql-baseline.ts behind grafserv + grafast): one pg query for the member, one LiveKit signature
 * with livekit-server-sdk. One function, so both baselines price exactly the same work. No JWT check, no RLS, no
 * rules. DATABASE_URL and LIVEKIT_API_KEY / LIVEKIT_API_SECRET from the environment.
 */
import { AccessToken } from "livekit-server-sdk";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const apiKey = process.env.LIVEKIT_API_KEY!;
const apiSecret = process.env.LIVEKIT_API_SECRET!;
export const BASELINE_TOKEN_TTL_SECONDS = 600;

export async function baselineToken(userId: string, roomName: string): Promise<string> {
  const { rows } = await pool.query<{ id: string; callsign: string; rank: string }>("select id, callsign, rank::text from public.profiles where id = $1", [userId]);
  const member = rows[0]!;
  const at = new AccessToken(apiKey, apiSecret, {
    identity: member.id,
    name: member.callsign,
    metadata: JSON.stringify({ userId: member.id, rank: member.rank, callsign: member.callsign }),
    ttl: BASELINE_TOKEN_TTL_SECONDS,
  });
  at.addGrant({ room: roomName, roomJoin: true, canSubscribe: true, canPublish: true, canPublishData: true });
  return at.toJwt();
}

export function endBaselinePool(): Promise<void> {
  return pool.end();
}

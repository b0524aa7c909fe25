/** Members of a given rank for HTTP tests, created the way the operators' CLI does, with a signed JWT. */
import type pg from "pg";
import { signJwt, type ApiRole } from "../../core/jwt.ts";
import { TEST_JWT_SECRET } from "./server.ts";

export type Rank = "VAGRANT" | "AFFILIATE" | "SCOUT" | "VOYAGER" | "FOUNDER" | "PIONEER";
export const RANKS: Rank[] = ["VAGRANT", "AFFILIATE", "SCOUT", "VOYAGER", "FOUNDER", "PIONEER"];

export interface Member {
  id: string;
  callsign: string;
  rank: Rank;
  token: string;
}

let counter = 0;

export async function createMember(pool: pg.Pool, rank: Rank, callsign?: string): Promise<Member> {
  const name = callsign ?? `${rank.toLowerCase()}-${process.pid}-${++counter}`;
  const { rows } = await pool.query<{ id: string }>(
    "select nexus_private.create_user($1, 'password-123', $2, $3::public.rank) as id",
    [`${name.replace(/\s/g, "_")}@members.test`, name, rank],
  );
  const id = rows[0]!.id;
  return { id, callsign: name, rank, token: await tokenFor(id) };
}

export function tokenFor(sub: string | undefined, role: ApiRole = "authenticated", ttlSeconds = 3600): Promise<string> {
  return signJwt(TEST_JWT_SECRET, { sub, role }, ttlSeconds);
}

/**
 * The bare baseline for bench/voice-token.ts: a plain node:http handler that does one pg query (the member's
 * callsign and rank) and one LiveKit signature, and nothing else: no JWT check, no GraphQL, no RLS, no rules.
 * Run as its own process: `node bench/support/voice-baseline.ts` with DATABASE_URL, PORT and LIVEKIT_* set.
 */
import http from "node:http";
import { AccessToken } from "livekit-server-sdk";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const apiKey = process.env.LIVEKIT_API_KEY!;
const apiSecret = process.env.LIVEKIT_API_SECRET!;

const server = http.createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => (body += chunk));
  req.on("end", async () => {
    try {
      const { userId, roomName } = JSON.parse(body) as { userId: string; roomName: string };
      const { rows } = await pool.query<{ id: string; callsign: string; rank: string }>(
        "select id, callsign, rank::text from public.profiles where id = $1",
        [userId],
      );
      const member = rows[0]!;
      const at = new AccessToken(apiKey, apiSecret, {
        identity: member.id,
        name: member.callsign,
        metadata: JSON.stringify({ userId: member.id, rank: member.rank, callsign: member.callsign }),
        ttl: 600,
      });
      at.addGrant({ room: roomName, roomJoin: true, canSubscribe: true, canPublish: true, canPublishData: true });
      const token = await at.toJwt();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token }));
    } catch (error) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: String(error) }));
    }
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});

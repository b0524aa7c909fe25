/**
 * The bare baseline for bench/voice-token.ts: a plain node:http handler that does one pg query (the member's
 * callsign and rank) and one LiveKit signature (bench/support/baseline-token.ts), and nothing else: no JWT
 * check, no GraphQL, no RLS, no rules.
 * Run as its own process: `node bench/support/voice-baseline.ts` with DATABASE_URL, PORT and LIVEKIT_* set.
 */
import http from "node:http";
import { baselineToken, endBaselinePool } from "./baseline-token.ts";

const server = http.createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => (body += chunk));
  req.on("end", async () => {
    try {
      const { userId, roomName } = JSON.parse(body) as { userId: string; roomName: string };
      const token = await baselineToken(userId, roomName);
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
  void endBaselinePool().then(() => process.exit(0));
});

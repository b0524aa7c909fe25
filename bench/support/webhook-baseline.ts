/**
 * The bare baseline for webhook ingest: plain node:http, the SDK's WebhookReceiver over the raw body, and one
 * INSERT of the event into a plain table. No Express, no job queue, no apply. PORT and DATABASE_URL from env.
 */
import http from "node:http";
import { WebhookReceiver } from "livekit-server-sdk";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const receiver = new WebhookReceiver(process.env.LIVEKIT_API_KEY!, process.env.LIVEKIT_API_SECRET!);
await pool.query("create table if not exists bench_webhook_events (id text primary key, body jsonb not null)");

http
  .createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    try {
      const event = await receiver.receive(raw, req.headers.authorization);
      await pool.query("insert into bench_webhook_events (id, body) values ($1, $2) on conflict do nothing", [event.id, raw]);
      res.writeHead(200, { "content-type": "application/json" }).end('{"received":true}');
    } catch {
      res.writeHead(401).end();
    }
  })
  .listen(Number(process.env.PORT), "127.0.0.1");

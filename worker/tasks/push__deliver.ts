/**
 * Send a batch of notification_queue rows (PUSH_BATCH_SIZE, queued together), all at once, and record each push
 * service's answer in one statement: sent, gone (subscription deleted), failed, or retry. If any need a retry
 * the job fails after recording, and graphile-worker runs it again with exponential backoff; rows already sent
 * or failed are skipped then. On the job's last attempt, rows still failing are marked failed.
 *
 * Postgres hands over only rows whose endpoint is on the allowed list now (PUSH_ALLOWED_HOSTS; the others it
 * marks failed), with the host and port to connect to. Every push has the hard deadline PUSH_TIMEOUT_MS, so a
 * batch holds its worker slot for at most that plus its two statements, and a push service that stalls costs
 * only its own rows a retry. These jobs run in the worker's own push runner (worker/runner.ts), never in the
 * slots webhook applies and sweeps use.
 *
 * A crash between a push service accepting a message and the commit that records it sends that message again
 * on the retry: at least once, never lost.
 */
import type { Task } from "graphile-worker";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { createPushSender, type PushOutcome, type PushSender } from "../../core/push/sender.ts";
import { workerContext } from "../context.ts";
import { parsePayload } from "../payload.ts";

export interface DeliverPayload {
  /** notification_queue ids */
  ids: number[];
}

const Payload = z.object({ ids: z.array(z.number().int().positive()).min(1) }) satisfies z.ZodType<DeliverPayload>;

interface DueRow {
  id: string;
  payload: unknown;
  endpoint: string;
  p256dh: string;
  auth: string;
  attempts: number;
  host: string | null;
  port: number | null;
}

/** One sender per worker process: its connections and VAPID headers are shared by every delivery job. */
let sender: { config: Config; sender: PushSender } | undefined;

function senderFor(config: Config): PushSender | undefined {
  const { publicKey, privateKey, subject } = config.vapid;
  if (!publicKey || !privateKey || !subject) return undefined;
  if (sender?.config !== config) {
    sender?.sender.close();
    sender = {
      config,
      sender: createPushSender({
        vapid: { publicKey, privateKey, subject },
        timeoutMs: config.push.timeoutMs,
        // 128 kept-alive connections per push service. One per push in flight (PUSH_CONCURRENCY x PUSH_BATCH_SIZE,
        // 1,000 by default) cost a TLS handshake for most sends: a 10,000-device flare took 20.3 s instead of
        // 12.8 s (bench/push-fanout.ts, quiet machine). A push waiting for a connection counts against its
        // deadline, so a batch of 100 shares them with at most 9 others; a stalled service holds only its own.
        maxSocketsPerOrigin: 128,
      }),
    };
  }
  return sender.sender;
}

const task: Task = async (raw, helpers) => {
  const payload = await parsePayload(Payload, raw, helpers);
  const { config, log } = workerContext();
  const started = Date.now();

  const { rows } = await helpers.withPgClient((client) =>
    client.query<DueRow>("select * from nexus_private.push_deliveries_due($1::bigint[], $2)", [payload.ids, config.push.allowedHosts ?? null]),
  );
  if (rows.length === 0) return;

  const fetchedMs = Date.now() - started;
  const push = senderFor(config);
  const outcomes: PushOutcome[] = push
    ? await Promise.all(rows.map((row) => push.send(row)))
    : rows.map((row) => ({
        id: Number(row.id),
        outcome: "retry",
        error: "Web Push is not configured: set NEXT_PUBLIC_VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT",
      }));

  const sentMs = Date.now() - started;
  const finalAttempt = helpers.job.attempts >= helpers.job.max_attempts;
  await helpers.withPgClient((client) =>
    client.query("select nexus_private.record_push_outcomes($1::jsonb, $2)", [
      JSON.stringify(outcomes.map(({ id, outcome, error }) => ({ id, outcome, error }))),
      finalAttempt,
    ]),
  );

  const count = (kind: PushOutcome["outcome"]) => outcomes.filter((o) => o.outcome === kind).length;
  const retrying = outcomes.filter((o) => o.outcome === "retry");
  log.info(
    {
      job: helpers.job.id,
      attempt: helpers.job.attempts,
      sent: count("sent"),
      gone: count("gone"),
      failed: count("failed"),
      retry: retrying.length,
      ms: { fetch: fetchedMs, send: sentMs - fetchedMs, record: Date.now() - started - sentMs },
    },
    "push batch delivered",
  );
  // 401/403 is the push service refusing our VAPID credentials, not a device gone: the subscription was made with
  // another applicationServerKey (the VAPID pair was rotated, or server and worker have different pairs), or the
  // JWT is refused. Every device subscribed with the old key fails the same way until it subscribes again, so
  // this is a warning an operator can act on, once a batch (the rows failed for good, as any other 4xx).
  const refused = outcomes.filter((o) => o.status === 401 || o.status === 403);
  if (refused.length > 0) {
    log.warn(
      {
        job: helpers.job.id,
        refused: refused.length,
        of: outcomes.length,
        vapidPublicKey: config.vapid.publicKey,
        firstError: refused[0]!.error,
      },
      "push services refused our VAPID credentials (HTTP 401/403): these devices subscribed with another VAPID public key " +
        "than this worker's (the pair was rotated, or the server and worker have different pairs), or the VAPID JWT is refused. " +
        "They get nothing until they subscribe again with the key GET /push/vapid-public-key serves; to keep old subscriptions " +
        "working, run the server and every worker with the old pair (docs/push-and-flares.md#rotating-the-vapid-pair)",
    );
  }
  if (retrying.length > 0 && !finalAttempt) {
    throw new Error(`${retrying.length} of ${outcomes.length} pushes will be retried; first error: ${retrying[0]!.error}`);
  }
};

export default task;

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { until } from "../support/eventually.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

let t: TestServer;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  t = await startTestServer({ env: LIVEKIT_ENV }); // the server only enqueues; the worker is a separate process
});
afterAll(async () => {
  for (const w of workers) await w.kill();
  await t?.close();
});

async function count(sql: string): Promise<number> {
  return (await t.pool.query(sql)).rows[0].n;
}

describe("a worker killed mid-burst", () => {
  it("loses no event: the restarted worker applies everything", async () => {
    const env = { ...LIVEKIT_ENV, DATABASE_URL: t.db.url, JWT_SECRET: TEST_JWT_SECRET, WORKER_DEAD_AFTER_SECONDS: "2", WORKER_CONCURRENCY: "8" };
    const first = await spawnWorker(env);
    workers.push(first);
    const base = 1_771_400_000;
    const total = 1500;
    const bodies = Array.from({ length: total }, (_, i) =>
      liveKitBody("participant_joined", `crash-${i % 10}`, base + i, { identity: `guest-${i}`, sid: `PA_crash_${i}` }),
    );
    let posted = 0;
    let killedAt = -1;
    for (let i = 0; i < bodies.length; i += 25) {
      const batch = bodies.slice(i, i + 25);
      const answers = await Promise.all(batch.map(async (b) => postWebhook(t.baseUrl, b, await signWebhook(b))));
      for (const a of answers) expect(a.status).toBe(200);
      posted += batch.length;
      if (killedAt < 0 && posted >= total / 3) {
        await first.kill("SIGKILL");
        killedAt = await count("select count(*)::int as n from public.voice_presence");
      }
    }
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(total);

    const second = await spawnWorker(env);
    workers.push(second);
    const applied = () => count("select count(*)::int as n from public.voice_presence");
    await until(`all ${total} events applied`, async () => (await applied()) === total, { timeoutMs: 60_000 });
    expect(await count("select count(distinct participant_sid)::int as n from public.voice_presence")).toBe(total);
    // Completions are batched, and a job the killed worker had applied but not yet completed stays locked until
    // its heartbeat is declared dead (WORKER_DEAD_AFTER_SECONDS=2 here), then runs again harmlessly.
    const webhookJobs = () => count("select count(*)::int as n from graphile_worker.jobs where task_identifier in ('presence__apply_event', 'presence__apply_events')");
    await until("no webhook job left behind, locked or not", async () => (await webhookJobs()) === 0, { timeoutMs: 15_000 });
  }, 120_000);
});

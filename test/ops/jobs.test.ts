/**
 * Job queue monitoring against the real server and a real graphile-worker running the test-only task in
 * test/fixtures/ops-tasks: a job whose task throws becomes a dead letter with its error; retryJobs brings it back,
 * and once the cause is fixed it completes; discardJobs removes one; the CLI and /metrics say the same.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNode } from "../support/child.ts";
import { eventually } from "../support/eventually.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/ops-tasks");
const TASK = "ops_fixture__deliver";

const FAILED_JOBS = `query($task: String) { failedJobs(taskIdentifier: $task) { nodes { id taskIdentifier attempts maxAttempts lastError payload runAt } } }`;
const STATS = `{ jobQueueStats { nodes { taskIdentifier queued scheduled running failed oldestQueuedAt } } }`;
const CRON = `{ cronSchedule { nodes { identifier knownSince lastExecution } } }`;
const RETRY = `mutation($ids: [BigInt]!) { retryJobs(input: { jobIds: $ids }) { result { id attempts } } }`;
const DISCARD = `mutation($ids: [BigInt]!) { discardJobs(input: { jobIds: $ids }) { result { id taskIdentifier } } }`;

let t: TestServer;
let founder: Member;
let scout: Member;

beforeAll(async () => {
  t = await startTestServer({ worker: true, taskDirectory: FIXTURES, crontabFile: path.join(ROOT, "test/fixtures/ops-crontab") });
  founder = await createMember(t.pool, "FOUNDER");
  scout = await createMember(t.pool, "SCOUT");
  await t.pool.query(`
    create table ops_fixture_targets (name text primary key);
    create table ops_fixture_deliveries (target text not null, delivered_at timestamptz not null default now())`);
});
afterAll(async () => t?.close());

async function addJob(target: string, maxAttempts: number): Promise<string> {
  const { rows } = await t.pool.query<{ id: string }>(
    `select id from graphile_worker.add_job($1, json_build_object('target', $2::text), max_attempts => $3)`,
    [TASK, target, maxAttempts],
  );
  return rows[0]!.id;
}

async function failedJobs(token = founder.token) {
  const res = await t.graphql(FAILED_JOBS, { task: TASK }, token);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.failedJobs.nodes as Array<{ id: string; attempts: number; maxAttempts: number; lastError: string; payload: unknown }>;
}

const deadLetter = (id: string) => eventually(`job ${id} to become a dead letter`, async () => (await failedJobs()).find((j) => j.id === id));

async function auditRows(action: string) {
  const { rows } = await t.pool.query("select actor_id, actor_role, details from nexus_private.audit_log where action = $1 order by id", [action]);
  return rows;
}

function cli(...args: string[]) {
  return runNode("cli/nexus.ts", args, {
    env: { ...process.env, DATABASE_URL: t.db.url, JWT_SECRET: TEST_JWT_SECRET, NODE_ENV: "test", LOG_LEVEL: "silent" },
  });
}

describe("dead letters, retry and discard", () => {
  let jobId: string;

  it("a job whose task throws lands in failedJobs with its error once its attempts are used up", async () => {
    jobId = await addJob("relay-7", 2);
    const job = await deadLetter(jobId);
    expect(job).toMatchObject({ attempts: 2, maxAttempts: 2, payload: { target: "relay-7" } });
    expect(job.lastError).toMatch(/target relay-7 is not there yet/);

    const stats = await t.graphql(STATS, {}, founder.token);
    expect(stats.body.data.jobQueueStats.nodes).toContainEqual(
      expect.objectContaining({ taskIdentifier: TASK, failed: 1, running: 0, queued: 0 }),
    );
  });

  it("refuses a SCOUT and anonymous callers with INSUFFICIENT_CLEARANCE and no rows", async () => {
    for (const token of [scout.token, undefined]) {
      for (const query of [FAILED_JOBS, STATS, CRON]) {
        const res = await t.graphql(query, { task: TASK }, token);
        expect(res.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
        expect(Object.values(res.body.data ?? {}).every((v) => v === null)).toBe(true);
      }
      const retry = await t.graphql(RETRY, { ids: [jobId] }, token);
      expect(retry.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    }
    expect((await failedJobs()).map((j) => j.id)).toEqual([jobId]);
    expect(await auditRows("job.retried")).toEqual([]);
  });

  it("retryJobs puts the dead letter back in the queue and a worker runs it again", async () => {
    const res = await t.graphql(RETRY, { ids: [jobId] }, founder.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.retryJobs.result).toEqual([{ id: jobId, attempts: 0 }]);
    expect((await failedJobs()).map((j) => j.id)).not.toContain(jobId);
    // The cause is not fixed yet, so the worker fails it again through both attempts: it really ran again.
    const again = await deadLetter(jobId);
    expect(again.attempts).toBe(2);
  });

  it("once the cause is fixed, a retried job completes and leaves the queue", async () => {
    await t.pool.query("insert into ops_fixture_targets (name) values ('relay-7')");
    const res = await t.graphql(RETRY, { ids: [jobId] }, founder.token);
    expect(res.body.data.retryJobs.result).toEqual([{ id: jobId, attempts: 0 }]);
    await eventually("the retried job to be delivered", async () => {
      const { rows } = await t.pool.query("select 1 from ops_fixture_deliveries where target = 'relay-7'");
      return rows.length === 1 ? true : undefined;
    });
    await eventually("the completed job to leave the queue", async () => {
      const { rows } = await t.pool.query("select 1 from graphile_worker.jobs where id = $1", [jobId]);
      return rows.length === 0 ? true : undefined;
    });
    expect(await failedJobs()).toEqual([]);

    const audit = await auditRows("job.retried");
    expect(audit).toHaveLength(2);
    for (const row of audit) {
      expect(row).toMatchObject({ actor_id: founder.id, actor_role: "authenticated", details: { requested: [Number(jobId)] } });
      expect(row.details.jobs).toEqual([expect.objectContaining({ id: Number(jobId), task: TASK })]);
    }
  });

  it("discardJobs removes a dead letter for good and audits what it was", async () => {
    const poison = await addJob("nowhere", 1);
    await deadLetter(poison);
    const refused = await t.graphql(DISCARD, { ids: [poison] }, scout.token);
    expect(refused.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");

    const res = await t.graphql(DISCARD, { ids: [poison] }, founder.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.discardJobs.result).toEqual([{ id: poison, taskIdentifier: TASK }]);
    expect(await failedJobs()).toEqual([]);
    const { rows } = await t.pool.query("select 1 from graphile_worker.jobs where id = $1", [poison]);
    expect(rows).toEqual([]);
    const [audit] = await auditRows("job.discarded");
    expect(audit).toMatchObject({ actor_id: founder.id, details: { jobs: [{ id: Number(poison), task: TASK }] } });
    expect(audit.details.jobs[0].last_error).toMatch(/target nowhere is not there yet/);
  });

  it("cronSchedule lists the schedules the worker registered", async () => {
    const res = await t.graphql(CRON, {}, founder.token);
    expect(res.body.data.cronSchedule.nodes).toContainEqual(
      expect.objectContaining({ identifier: "ops_fixture_nightly", lastExecution: null }),
    );
  });
});

describe("the same from a terminal and from /metrics", () => {
  it("`nexus jobs` prints queue depth, --failed the dead letters, --retry and --discard act and are audited", async () => {
    const dead = await addJob("cli-target", 1);
    await deadLetter(dead);

    const overview = await cli("jobs");
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(new RegExp(`^${TASK}\\s+0\\s+0\\s+0\\s+1\\s`, "m"));
    expect(overview.stdout).toMatch(/ops_fixture_nightly/);

    const failed = await cli("jobs", "--failed");
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(new RegExp(`^\\s*${dead}\\s+${TASK}\\s+1/1\\s.*target cli-target is not there yet`, "m"));

    const retried = await cli("jobs", "--retry", dead, "999999");
    expect(retried.stdout).toMatch(new RegExp(`retried 1 job: ${dead} \\(${TASK}\\)`));
    expect(retried.stdout).toMatch(/skipped 999999/);
    expect(retried.code).toBe(1);
    await deadLetter(dead);

    const discarded = await cli("jobs", "--discard", "all", "--task", TASK);
    expect(discarded.code).toBe(0);
    expect(discarded.stdout).toMatch(new RegExp(`discarded 1 job: ${dead}`));
    expect(await failedJobs()).toEqual([]);

    const audit = await t.pool.query("select actor_role, action from nexus_private.audit_log where details -> 'requested' @> $1::jsonb order by id", [
      JSON.stringify([Number(dead)]),
    ]);
    expect(audit.rows).toEqual([
      { actor_role: "service_role", action: "job.retried" },
      { actor_role: "service_role", action: "job.discarded" },
    ]);

    const usage = await cli("jobs", "--retry");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--retry needs job ids/);
  });

  it("/metrics reports queue depth and dead letters per task", async () => {
    const dead = await addJob("metrics-target", 1);
    await deadLetter(dead);
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toMatch(new RegExp(`^nexus_job_dead_letters\\{task="${TASK}"\\} 1$`, "m"));
    expect(text).toMatch(new RegExp(`^nexus_job_queue_depth\\{task="${TASK}",state="queued"\\} 0$`, "m"));
    expect(text).toMatch(/^nexus_process_cpu_seconds_total /m);
  });
});

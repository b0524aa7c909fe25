/**
 * A job whose payload can never be valid is not retried 25 times, nor dropped with only a log line: it is a
 * dead letter at once, with its reason, where operators look (failedJobs: the /ops page, `nexus jobs --failed`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runQueuedJobs } from "../support/jobs.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let founder: Member;

beforeAll(async () => {
  t = await startTestServer();
  founder = await createMember(t.pool, "FOUNDER");
});
afterAll(async () => t?.close());

const FAILED = `query($task: String) { failedJobs(taskIdentifier: $task) { nodes { id taskIdentifier attempts maxAttempts lastError payload } } }`;

describe("a payload that can never be valid", () => {
  it("makes its job a dead letter after one attempt, with the reason, in failedJobs", async () => {
    const added = async (task: string, payload: unknown) =>
      String((await t.pool.query("select id from graphile_worker.add_job($1, $2::json, max_attempts => 25)", [task, JSON.stringify(payload)])).rows[0].id);
    const fanout = await added("push__fanout", { flareId: "not-a-uuid" });
    const presence = await added("presence__apply_event", { hello: "world" });
    await runQueuedJobs(t);

    const res = await t.graphql(FAILED, {}, founder.token);
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data.failedJobs.nodes;
    expect(nodes).toContainEqual({
      id: fanout,
      taskIdentifier: "push__fanout",
      attempts: 1,
      maxAttempts: 1,
      lastError: expect.stringMatching(/^payload is not valid: flareId: /),
      payload: { flareId: "not-a-uuid" },
    });
    expect(nodes).toContainEqual(
      expect.objectContaining({ id: presence, taskIdentifier: "presence__apply_event", attempts: 1, maxAttempts: 1, lastError: "payload is not a normalised presence event (id, event, room, createdAt)" }),
    );
  });
});

describe("a periodic task that fails on every run", () => {
  it("keeps only its newest dead letter once the minute sweep has run: failedJobs shows one, with the latest error", async () => {
    const dead: string[] = [];
    for (const n of [1, 2, 3]) {
      const { rows } = await t.pool.query("select id::text from graphile_worker.add_job('presence__reconcile', '{}'::json, max_attempts => 1, run_at => now() + interval '1 hour')");
      dead.push(rows[0].id);
      // As a failed run leaves it: attempts used up, the error recorded.
      await t.pool.query("update graphile_worker._private_jobs set attempts = 1, last_error = $2, updated_at = now() + make_interval(secs => $3) where id = $1", [rows[0].id, `LiveKit unreachable (${n})`, n]);
    }
    await t.pool.query("select graphile_worker.add_job('worker__unlock_dead', '{}'::json)");
    await runQueuedJobs(t);

    const res = await t.graphql(FAILED, { task: "presence__reconcile" }, founder.token);
    expect(res.body.data.failedJobs.nodes.map((n: { id: string; lastError: string }) => [n.id, n.lastError])).toEqual([[dead[2], "LiveKit unreachable (3)"]]);
    const { rows } = await t.pool.query("select details from nexus_private.audit_log where action = 'job.superseded' order by id desc limit 1");
    expect(rows[0].details.jobs.map((j: { id: number }) => String(j.id)).sort()).toEqual([dead[0], dead[1]].sort());
  });
});

import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RENAMED_TASKS } from "../../worker/task-list.ts";
import { runQueuedJobs, TASK_DIRECTORY } from "../support/jobs.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

const joined = (sid: string) => ({
  id: `EV_${sid}`,
  event: "participant_joined",
  room: "renamed-net",
  participant: { identity: `guest-${sid}`, sid },
  createdAt: 1_771_000_000,
});

describe("presence__apply_event", () => {
  it("applies an event queued under the task's old name, livekit_webhook, as well as under its own", async () => {
    await t.pool.query("select graphile_worker.add_job('livekit_webhook', $1::json)", [joined("PA_old")]);
    await t.pool.query("select graphile_worker.add_job('presence__apply_event', $1::json)", [joined("PA_new")]);
    await runQueuedJobs(t);
    const { rows } = await t.pool.query("select participant_sid from public.voice_presence where room_name = 'renamed-net' order by 1");
    expect(rows.map((r) => r.participant_sid)).toEqual(["PA_new", "PA_old"]);
    const left = await t.pool.query("select count(*)::int as n from graphile_worker.jobs");
    expect(left.rows[0].n, "no job is left behind for want of a task").toBe(0);
  });

  it("renames only to tasks that exist", async () => {
    const files = (await readdir(TASK_DIRECTORY)).map((f) => f.replace(/\.ts$/, ""));
    for (const [old, current] of Object.entries(RENAMED_TASKS)) {
      expect(files, `${old} -> ${current}`).toContain(current);
      expect(files, `${old} has no file of its own`).not.toContain(old);
    }
  });
});

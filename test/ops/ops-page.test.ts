/**
 * The /ops page in a real headless Chromium (Debian's `chromium`, driven by playwright-core; nothing downloaded):
 * a FOUNDER signs in, sees a dead letter appear as the worker gives up on it, presses Retry and sees it leave;
 * a SCOUT signs in and is refused by the database. Phone-sized throughout.
 *
 * Screenshots go to test-results/ (ignored by git); with UPDATE_SCREENSHOTS=1 they replace docs/ops-page.png and
 * docs/ops-page-phone.png, the pictures in docs/operations.md.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { CHROMIUM } from "../../scripts/test-tools.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/ops-tasks");
const SHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, "docs") : path.join(ROOT, "test-results");
const PHONE = { width: 390, height: 844 };
const PASSWORD = "password-123"; // test/support/members.ts

let t: TestServer;
let browser: Browser;
let founder: Member;
let scout: Member;

const emailOf = (m: Member) => `${m.callsign}@members.test`.toLowerCase();

beforeAll(async () => {
  t = await startTestServer({ worker: true, taskDirectory: FIXTURES, crontabFile: path.join(ROOT, "test/fixtures/ops-crontab") });
  founder = await createMember(t.pool, "FOUNDER", "Ada");
  scout = await createMember(t.pool, "SCOUT", "Sam");
  await t.pool.query(`
    create table ops_fixture_targets (name text primary key);
    create table ops_fixture_deliveries (target text not null, delivered_at timestamptz not null default now())`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function signIn(member: Member): Promise<Page> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${t.baseUrl}/ops`);
  await page.fill("input[name=email]", emailOf(member));
  await page.fill("input[name=password]", PASSWORD);
  await page.click("#sign-in button[type=submit]");
  return page;
}

describe("/ops in a browser", () => {
  it("serves a page that holds no data and only talks to its own origin", async () => {
    const res = await fetch(`${t.baseUrl}/ops`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'.*connect-src 'self'/);
    const html = await res.text();
    expect(html).toMatch(/<form id="sign-in"/);
    expect(html).not.toMatch(/ops_fixture|jwt/i);
  });

  it("a FOUNDER sees a dead letter appear, presses Retry and sees it leave; Discard takes two presses", { timeout: 60_000 }, async () => {
    const page = await signIn(founder);
    await page.waitForSelector("#panel-dead-letters >> text=None", { timeout: 10_000 });
    expect(await page.isHidden("#sign-in")).toBe(true);

    // A SCOUT on a net shows in the presence panel (public.net_roster). Jobs for tasks no worker here runs stay
    // queued; the fixture task fails at once and becomes a dead letter.
    await t.pool.query(
      `with net as (
         insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
         values ('Ops net', 'ops-net', 'SCOUT', 'SCOUT', 'SCOUT') returning id)
       insert into public.voice_presence (room_name, net_id, participant_identity, participant_sid, user_id, joined_at)
       select 'ops-net', net.id, $1::text, 'PA_ops1', $1::uuid, now() - interval '4 minutes' from net`,
      [scout.id],
    );
    await t.pool.query(`
      select graphile_worker.add_job('livekit__apply_event', json_build_object('event', 'participant_joined', 'id', 'EV_' || n), job_key => 'EV_' || n)
        from generate_series(1, 3) n;
      select graphile_worker.add_job('presence__sweep_stale', '{}', run_at => now() + interval '5 minutes')`);
    const { rows } = await t.pool.query<{ id: string }>(
      `select id from graphile_worker.add_job('ops_fixture__deliver', '{"target":"beacon-3"}', max_attempts => 1)`,
    );
    const jobId = rows[0]!.id;
    const row = `#panel-dead-letters tr[data-key="${jobId}"]`;
    await page.waitForSelector(row, { timeout: 15_000 });
    expect(await page.textContent(row)).toMatch(/target beacon-3 is not there yet/);
    expect(await page.textContent("#panel-queue")).toMatch(/livekit__apply_event/);
    await page.waitForSelector(`#panel-presence >> text=${scout.callsign}`, { timeout: 5_000 });
    expect(await page.textContent("#panel-presence")).toMatch(/ops-net.*SCOUT/s);
    // An open rescue flare shows in the flares panel (public.open_rescue_flares), with its requester's callsign.
    await t.pool.query(
      `insert into public.rescue_flares (requester_id, location, flare_type) values ($1, 'Stanton III - Crusader', 'MEDICAL')`,
      [scout.id],
    );
    await page.waitForSelector(`#panel-flares >> text=Stanton III - Crusader`, { timeout: 5_000 });
    expect(await page.textContent("#panel-flares")).toMatch(new RegExp(`MEDICAL.*OPEN.*Stanton III - Crusader.*${scout.callsign}`, "s"));

    // Open the error and payload for the pictures; nothing may spill sideways on a phone.
    await page.click(`${row} summary`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(SHOTS, "ops-page-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1180, height: 600 });
    await page.screenshot({ path: path.join(SHOTS, "ops-page.png") });
    await page.setViewportSize(PHONE);

    // Fix the cause, then retry from the page: the row leaves and the worker delivers.
    await t.pool.query("insert into ops_fixture_targets (name) values ('beacon-3')");
    await page.click(`${row} >> button:has-text("Retry")`);
    await page.waitForSelector(row, { state: "detached", timeout: 10_000 });
    await eventually("the retried job to be delivered", async () => {
      const done = await t.pool.query("select 1 from ops_fixture_deliveries where target = 'beacon-3'");
      return done.rows.length ? true : undefined;
    });
    const audit = await t.pool.query("select actor_id from nexus_private.audit_log where action = 'job.retried'");
    expect(audit.rows).toEqual([{ actor_id: founder.id }]);

    // Discard takes a second press: the first only arms the button.
    const poison = await t.pool.query<{ id: string }>(
      `select id from graphile_worker.add_job('ops_fixture__deliver', '{"target":"nowhere"}', max_attempts => 1)`,
    );
    const poisonRow = `#panel-dead-letters tr[data-key="${poison.rows[0]!.id}"]`;
    await page.waitForSelector(poisonRow, { timeout: 15_000 });
    await page.click(`${poisonRow} >> button:has-text("Discard")`);
    expect(await page.textContent(`${poisonRow} button.danger`)).toBe("Confirm discard");
    expect(await page.$(poisonRow)).not.toBeNull();
    await page.click(`${poisonRow} >> button:has-text("Confirm discard")`);
    await page.waitForSelector(poisonRow, { state: "detached", timeout: 10_000 });
    const discarded = await t.pool.query("select actor_id, details -> 'jobs' -> 0 ->> 'task' as task from nexus_private.audit_log where action = 'job.discarded'");
    expect(discarded.rows).toEqual([{ actor_id: founder.id, task: "ops_fixture__deliver" }]);
    await page.context().close();
  });

  it("a SCOUT is refused and sees no queue", { timeout: 60_000 }, async () => {
    const page = await signIn(scout);
    await page.waitForSelector("#sign-in-error >> text=Refused", { timeout: 10_000 });
    expect(await page.textContent("#sign-in-error")).toMatch(/only FOUNDER and PIONEER may operate the job queue/);
    expect(await page.isVisible("#sign-in")).toBe(true);
    expect(await page.isHidden("#panels")).toBe(true);
    expect(await page.$$("#panels tr")).toHaveLength(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it("a panel cut by GraphQL's default page of 100 says how many it shows of how many", { timeout: 60_000 }, async () => {
    const { rows } = await t.pool.query("insert into public.voice_nets (name, room_name) values ('Crowded', 'crowded-net') returning id");
    await t.pool.query(
      `insert into public.voice_presence (room_name, net_id, participant_identity, participant_sid, joined_at)
       select 'crowded-net', $1, 'guest-' || i, 'PA_crowd_' || i, now() from generate_series(1, 120) i`,
      [rows[0].id],
    );
    try {
      const page = await signIn(founder);
      const counter = await eventually("the roster's counter", async () => {
        const text = await page.textContent("#panel-presence .count").catch(() => null);
        return text?.includes("of") ? text : undefined;
      }, { timeoutMs: 15_000 });
      // The 120 here, and whoever an earlier test left on a net.
      expect(counter).toMatch(/^100 of (\d+)$/);
      expect(Number(counter!.split(" of ")[1])).toBeGreaterThanOrEqual(120);
      expect(await page.$$("#panel-presence tbody tr")).toHaveLength(100);
      await page.context().close();
    } finally {
      await t.pool.query("delete from public.voice_presence where room_name = 'crowded-net'");
      await t.pool.query("delete from public.voice_nets where room_name = 'crowded-net'");
    }
  });

  it("an unknown account is refused at sign-in", async () => {
    const page = await signIn({ ...founder, callsign: "nobody-here" });
    await page.waitForSelector("#sign-in-error >> text=Sign-in failed", { timeout: 10_000 });
    expect(await page.textContent("#sign-in-error")).toMatch(/wrong email or password/);
    await page.context().close();
  });
});

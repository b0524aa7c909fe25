/**
 * voicePresenceChanged under abuse, over graphql-ws against a production-mode server: a member's subscriptions end
 * the moment their socket closes or they complete them (no event needed to let go), one event costs one clearance
 * check per subscriber rather than per subscription, and nobody holds more subscriptions than the limits allow.
 *
 * Cost is counted as connections taken from the server's own pool (each is one transaction: withPgClient), so the
 * figures are exact; pg_stat_database's counters are flushed by each backend on its own schedule.
 */
import { randomUUID } from "node:crypto";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/eventually.ts";
import { createMember, type Member } from "../support/members.ts";
import { LIVEKIT_ENV } from "../support/livekit.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const METRICS_TOKEN = "metrics-token-for-the-subscription-tests";
const PRESENCE = "subscription($net: UUID!) { voicePresenceChanged(netId: $net) { event netId } }";

interface Watcher {
  client: Client;
  /** Per subscription (in the order opened): the events it got, and the errors it ended with. */
  events: unknown[][];
  errors: any[][];
  /** Opens one more subscription on the socket; its index. */
  add(): number;
  /** Sends graphql-ws `complete` for subscription i. */
  complete(i: number): void;
}

async function setUp(env: Record<string, string>) {
  const t = await startTestServer({ env: { ...LIVEKIT_ENV, NODE_ENV: "production", METRICS_TOKEN, ...env } });
  const netId: string = (
    await t.pool.query("insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Open', $1, 'VAGRANT', 'VAGRANT', 'VAGRANT') returning id", [
      `open-${randomUUID()}`,
    ])
  ).rows[0].id;
  let taken = 0;
  t.pool.on("acquire", () => taken++);
  const clients: Client[] = [];

  /** A socket of the member's with `n` subscriptions to the net. */
  function watch(member: Member, n: number): Watcher {
    const client = createClient({ url: `${t.baseUrl.replace("http", "ws")}/graphql`, connectionParams: { authorization: `Bearer ${member.token}` }, retryAttempts: 0 });
    clients.push(client);
    const events: unknown[][] = [];
    const errors: any[][] = [];
    const stops: (() => void)[] = [];
    const add = () => {
      const i = events.length;
      events.push([]);
      errors.push([]);
      stops.push(
        client.subscribe(
          { query: PRESENCE, variables: { net: netId } },
          { next: (v) => (v.errors ? errors[i]!.push(...v.errors) : events[i]!.push(v.data?.voicePresenceChanged)), error: (e) => errors[i]!.push(...(Array.isArray(e) ? e : [e])), complete: () => {} },
        ),
      );
      return i;
    };
    for (let i = 0; i < n; i++) add();
    return { client, events, errors, add, complete: (i) => stops[i]!() };
  }

  /** nexus_presence_subscriptions, read over HTTP as Prometheus would. */
  async function open(): Promise<number> {
    const text = await (await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const match = /^nexus_presence_subscriptions (\d+)$/m.exec(text);
    if (!match) throw new Error("no nexus_presence_subscriptions on /metrics");
    return Number(match[1]);
  }

  /** Nothing is waiting for the server's pool, and only the subscriptions' LISTEN connection is in use. */
  const idle = () => until("the server's pool to be idle", () => t.pool.waitingCount === 0 && t.pool.totalCount - t.pool.idleCount <= 1);

  /** What the trigger on voice_presence sends, naming no row. */
  const notify = (event: "JOINED" | "LEFT") =>
    t.pool.query("select pg_notify($1, $2)", [`nexus:presence:${netId}`, JSON.stringify({ id: randomUUID(), netId, event })]);

  /** Until subscription i of the watcher receives events: JOINED probes until it is listening (as subscription.test.ts). */
  async function live(w: Watcher, i = 0) {
    await until("the subscription to be listening", async () => {
      await notify("JOINED");
      return w.events[i]!.length > 0;
    });
  }

  /**
   * One LEFT on the net (live()'s probes are JOINED), until the witness has it and the server has done all there is
   * to do: the connections taken from the pool meanwhile. Every subscription hears a NOTIFY at the same moment and
   * each group handles its events in order, so once the witness has this one and nothing uses the pool, everything
   * sent before it has been handled too (and is counted here, if it was still on its way).
   */
  async function oneEvent(witness: Watcher): Promise<number> {
    const lefts = () => witness.events[0]!.filter((e: any) => e?.event === "LEFT").length;
    await idle();
    const before = taken;
    const seen = lefts();
    await notify("LEFT");
    await until("the witness to get the event", () => lefts() > seen);
    await idle();
    return taken - before;
  }

  /** What one event costs, once whatever was sent before has been handled (the first event). */
  async function costOfOneEvent(witness: Watcher): Promise<number> {
    await oneEvent(witness);
    return oneEvent(witness);
  }

  return {
    t,
    netId,
    watch,
    open,
    live,
    oneEvent,
    costOfOneEvent,
    taken: () => taken,
    idle,
    async close() {
      for (const c of clients) await c.dispose();
      await t.close();
    },
  };
}

/** One server for the two parts below, with limits high enough not to be what they are about. */
let s: Awaited<ReturnType<typeof setUp>>;
/** Another member's subscription, open throughout: its event marks when one has been handled. */
let witness: Watcher;
/** What one event costs with only the witness subscribed: the NOTIFY and the witness's check. */
let baseline: number;
beforeAll(async () => {
  s = await setUp({ SUBSCRIPTIONS_PER_SOCKET: "1000", SUBSCRIPTIONS_PER_MEMBER: "1000" });
  witness = s.watch(await createMember(s.t.pool, "VOYAGER"), 1);
  await s.live(witness);
  baseline = await s.costOfOneEvent(witness);
  expect(baseline).toBe(2);
});
afterAll(async () => s?.close());

describe("a member's subscriptions end with their socket", () => {

  it("a closed socket lets go of all its subscriptions at once, and the next event costs nothing for them", async () => {
    const N = 300;
    const vagrant = await createMember(s.t.pool, "VAGRANT");
    const attacker = s.watch(vagrant, N);
    await until("all of them to be open", async () => (await s.open()) === N + 1);
    await attacker.client.dispose();
    await until("the server to hold only the witness's", async () => (await s.open()) === 1, { timeoutMs: 5000 });
    expect(await s.costOfOneEvent(witness)).toBe(baseline);
  });

  it("so does a socket closed while its subscriptions are still being set up", async () => {
    const vagrant = await createMember(s.t.pool, "VAGRANT");
    const attacker = s.watch(vagrant, 200);
    await until("some of them to be open", async () => (await s.open()) > 1);
    attacker.client.terminate();
    await s.idle();
    await until("the server to hold only the witness's", async () => (await s.open()) === 1, { timeoutMs: 5000 });
    expect(await s.costOfOneEvent(witness)).toBe(baseline);
  });

  it("a subscription completed by the client (graphql-ws `complete`, socket open) lets go at once", async () => {
    const N = 100;
    const attacker = s.watch(await createMember(s.t.pool, "VAGRANT"), N);
    await until("all of them to be open", async () => (await s.open()) === N + 1);
    for (let i = 0; i < N; i++) attacker.complete(i);
    await until("the server to hold only the witness's", async () => (await s.open()) === 1, { timeoutMs: 5000 });
    expect(await s.costOfOneEvent(witness)).toBe(baseline);
  });
});

describe("one member's many subscriptions cost one clearance check per event", () => {

  it("however many subscriptions one member holds on a net, over one socket or several, an event is one check for them", async () => {
    const member = await createMember(s.t.pool, "VAGRANT");
    const sockets = [s.watch(member, 100), s.watch(member, 100)];
    await until("all of them to be open", async () => (await s.open()) === 201);
    await s.live(sockets[0]!);
    expect(await s.costOfOneEvent(witness)).toBe(baseline + 1);
    // And each subscription got it.
    await until("every subscription to get the event", () => sockets.every((w) => w.events.every((e) => e.length > 0)));
    for (const w of sockets) await w.client.dispose();
    await until("the server to hold only the witness's", async () => (await s.open()) === 1, { timeoutMs: 5000 });
  });

  it("a member who may no longer join the net loses every one of their subscriptions to it, for one check, and nobody else does", async () => {
    const member = await createMember(s.t.pool, "SCOUT");
    const w = s.watch(member, 5);
    await until("all of them to be open", async () => (await s.open()) === 6);
    await s.live(w);
    expect(await s.costOfOneEvent(witness)).toBe(baseline + 1);
    await s.t.pool.query("update public.voice_nets set min_rank_to_join = 'VOYAGER', min_rank_to_rx = 'VOYAGER', min_rank_to_tx = 'VOYAGER' where id = $1", [s.netId]);
    try {
      // The next event on the net: the witness's check and one check for the member's five, which says no.
      expect(await s.oneEvent(witness)).toBe(baseline + 1);
      await until("the member's subscriptions to end", () => w.errors.every((e) => e.length > 0));
      for (const e of w.errors) expect(e[0]).toMatchObject({ message: "you may no longer join this net", extensions: { code: "INSUFFICIENT_CLEARANCE" } });
      await until("the server to hold only the witness's", async () => (await s.open()) === 1, { timeoutMs: 5000 });
      expect(await s.costOfOneEvent(witness)).toBe(baseline);
      expect(witness.errors[0]).toEqual([]);
    } finally {
      await s.t.pool.query("update public.voice_nets set min_rank_to_join = 'VAGRANT', min_rank_to_rx = 'VAGRANT', min_rank_to_tx = 'VAGRANT' where id = $1", [s.netId]);
    }
  });
});

describe("subscription limits (SUBSCRIPTIONS_PER_SOCKET, SUBSCRIPTIONS_PER_MEMBER)", () => {
  let c: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    c = await setUp({ SUBSCRIPTIONS_PER_SOCKET: "3", SUBSCRIPTIONS_PER_MEMBER: "5" });
  });
  afterAll(async () => c?.close());

  /** Until subscription i of w is refused; the refusal. */
  async function refusal(w: Watcher, i: number) {
    await until("the refusal", () => w.errors[i]!.length > 0);
    return w.errors[i]![0];
  }

  it("one socket holds at most SUBSCRIPTIONS_PER_SOCKET: one more is RATE_LIMITED before any SQL runs, queries still run, a completed one frees its place", async () => {
    const member = await createMember(c.t.pool, "VAGRANT");
    const w = c.watch(member, 3);
    await until("the three to be open", async () => (await c.open()) === 3);
    await c.idle();
    const before = c.taken();
    const fourth = w.add();
    expect(await refusal(w, fourth)).toMatchObject({ message: "at most 3 subscriptions may be open on one connection: complete one first", extensions: { code: "RATE_LIMITED" } });
    await c.idle();
    expect(c.taken() - before).toBe(0);
    expect(await c.open()).toBe(3);
    // A query on the same socket is not a subscription: answered.
    const answer = await new Promise<unknown>((resolve, reject) => {
      let data: unknown;
      w.client.subscribe({ query: "{ __typename }" }, { next: (v) => (data = v.data), error: reject, complete: () => resolve(data) });
    });
    expect(answer).toEqual({ __typename: "Query" });
    w.complete(0);
    await until("the completed one to be gone", async () => (await c.open()) === 2);
    const again = w.add();
    await until("the new one to be open", async () => (await c.open()) === 3);
    await c.live(w, again);
    expect(w.errors[again]).toEqual([]);
    await w.client.dispose();
    await until("the socket's subscriptions to be gone", async () => (await c.open()) === 0);
  });

  it("one member holds at most SUBSCRIPTIONS_PER_MEMBER over all their sockets; nobody else is affected; a closed socket frees its places", async () => {
    const member = await createMember(c.t.pool, "VAGRANT");
    const first = c.watch(member, 3);
    await until("the first socket's three to be open", async () => (await c.open()) === 3);
    // Three more over another socket: two fit, one (whichever the server takes last) is refused.
    const second = c.watch(member, 3);
    await until("one of them to be refused", () => second.errors.some((e) => e.length > 0));
    await until("five to be open", async () => (await c.open()) === 5);
    const refused = second.errors.filter((e) => e.length > 0);
    expect(refused).toHaveLength(1);
    expect(refused[0]![0]).toMatchObject({ message: "at most 5 subscriptions may be open for one member: complete one first", extensions: { code: "RATE_LIMITED" } });

    const other = c.watch(await createMember(c.t.pool, "VAGRANT"), 3);
    await until("the other member's three to be open too", async () => (await c.open()) === 8);
    expect(other.errors).toEqual([[], [], []]);

    await first.client.dispose();
    await until("the closed socket's three to be gone", async () => (await c.open()) === 5);
    const more = second.add();
    await until("the member's new one to be open", async () => (await c.open()) === 6);
    await c.live(second, more);
    expect(second.errors[more]).toEqual([]);
  });
});

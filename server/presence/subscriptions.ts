/**
 * The voicePresenceChanged subscriptions one server holds, grouped by subscriber: the subscriptions opened with the
 * same request settings (one token) on the same net form one group. A group listens once on the PgSubscriber (the
 * net's channel and the member's rights channel) and, for each event, asks the database once whether that
 * subscriber may still join the net; the answer is SQL's (public.can_join_net), shared only by the subscriptions
 * that would have asked the very same question about the very same event. So a member holding many subscriptions
 * costs one check per event, not one per subscription.
 *
 * A subscription lets go the moment it is ended (graphql-ws `complete`, its socket closing: grafast calls return()),
 * whatever its group is waiting for: an async generator could not, as its return() waits for the next `yield`,
 * which only an event on the net brings (docs/HARDENING.md, "Subscriptions").
 */
import type { WithPgClient } from "postgraphile/@dataplan/pg";
import { SafeError, type GrafastSubscriber } from "postgraphile/grafast";
import { memberOfSettings } from "../../core/jwt.ts";

export const CAN_JOIN = "select public.can_join_net($1::uuid) as allowed, auth.uid() is not null as signed_in";

type Settings = Record<string, string> | null;

/** Whether the subscriber may still join the net, asked as the subscriber (the same rule as subscribing). */
async function mayJoin(withPgClient: WithPgClient, pgSettings: Settings, netId: string): Promise<boolean> {
  const member = memberOfSettings(pgSettings);
  return withPgClient(pgSettings, async (client) => {
    const { rows } = await client.query<{ allowed: boolean; signed_in: boolean }>({ text: CAN_JOIN, values: [netId] });
    // A member's token that is no longer in force (session ended, exp passed: auth.claimed_sub()) is anon.
    if (member && rows[0]?.signed_in !== true) {
      throw new SafeError("your session has ended or its token has expired: sign in again", { code: "UNAUTHENTICATED" });
    }
    return rows[0]?.allowed === true;
  });
}

const DONE: IteratorResult<unknown> = Object.freeze({ done: true, value: undefined });

interface Waiting {
  resolve(result: IteratorResult<unknown>): void;
  reject(error: unknown): void;
}

/** One GraphQL subscription: the events its group passes on, queued until grafast pulls them. */
class Subscription implements AsyncIterableIterator<unknown> {
  readonly #queue: unknown[] = [];
  /** next() calls not yet answered (grafast asks one at a time; more would wait in turn). */
  readonly #waiting: Waiting[] = [];
  #ended = false;
  #error: unknown = undefined;
  readonly #leave: (s: Subscription) => void;

  constructor(leave: (s: Subscription) => void) {
    this.#leave = leave;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  push(value: unknown): void {
    if (this.#ended) return;
    const waiting = this.#waiting.shift();
    if (waiting) waiting.resolve({ done: false, value });
    else this.#queue.push(value);
  }

  /** The group ended it: what is queued is still delivered, then the error (if any), then done. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const waiting of this.#waiting.splice(0)) this.#settle(waiting);
  }

  #settle(waiting: Waiting): void {
    if (this.#error !== undefined) {
      waiting.reject(this.#error);
      this.#error = undefined;
    } else waiting.resolve(DONE);
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#queue.length > 0) return Promise.resolve({ done: false, value: this.#queue.shift() });
    return new Promise((resolve, reject) => {
      if (this.#ended) this.#settle({ resolve, reject });
      else this.#waiting.push({ resolve, reject });
    });
  }

  /** Out of its group, and of the count (once; again is nothing). */
  leave(): void {
    this.#leave(this);
  }

  /** The subscriber ended it: it leaves its group now, and a pending next() is answered done. */
  return(): Promise<IteratorResult<unknown>> {
    this.#queue.length = 0;
    this.#error = undefined;
    this.end();
    this.leave();
    return Promise.resolve(DONE);
  }

  throw(): Promise<IteratorResult<unknown>> {
    return this.return();
  }
}

interface GroupOptions {
  subscriber: GrafastSubscriber;
  withPgClient: WithPgClient;
  pgSettings: Settings;
  netId: string;
  topic: string;
}

/** One subscriber's subscriptions to one net, listening and checking once for all of them. */
class Group {
  readonly subscriptions = new Set<Subscription>();
  #closed = false;
  readonly #sources: AsyncIterator<unknown>[] = [];
  readonly #options: GroupOptions;
  readonly #onEmpty: () => void;

  constructor(options: GroupOptions, onEmpty: () => void) {
    this.#options = options;
    this.#onEmpty = onEmpty;
  }

  async start(): Promise<void> {
    const { subscriber, topic, pgSettings } = this.#options;
    const member = memberOfSettings(pgSettings);
    const topics = member ? [topic, `nexus:voice-rights:${member}`] : [topic];
    try {
      for (const t of topics) {
        const source = (await subscriber.subscribe(t))[Symbol.asyncIterator]();
        this.#sources.push(source);
        // Ended while subscribing: give back what was taken.
        if (this.#closed) return this.#release();
      }
      await this.#pump();
      this.#end();
    } catch (error) {
      this.#end(error);
    }
  }

  async #pump(): Promise<void> {
    const { withPgClient, pgSettings, netId } = this.#options;
    const pending = new Map<number, Promise<{ i: number; result: IteratorResult<unknown> }>>();
    const pull = (i: number) => {
      const next = this.#sources[i]!.next().then((result) => ({ i, result }));
      // One pulled after the last race (the group ended meanwhile) has nobody awaiting it.
      next.catch(() => undefined);
      pending.set(i, next);
    };
    this.#sources.forEach((_, i) => pull(i));
    while (pending.size > 0 && !this.#closed) {
      const { i, result } = await Promise.race(pending.values());
      pending.delete(i);
      if (this.#closed) return;
      if (result.done) continue;
      pull(i);
      // The subscriptions there are when the event arrives get it, once the database says they still may.
      const recipients = [...this.subscriptions];
      if (!(await mayJoin(withPgClient, pgSettings, netId))) {
        throw new SafeError("you may no longer join this net", { code: "INSUFFICIENT_CLEARANCE" });
      }
      let kind: unknown;
      try {
        kind = JSON.parse(String(result.value)).event;
      } catch {
        kind = undefined;
      }
      // Rights announcements only prompt the check; they are never passed on.
      if (kind === "JOINED" || kind === "LEFT") for (const s of recipients) s.push(result.value);
    }
  }

  /** The group ended by itself (its sources ended, or the check said no or failed): so do its subscriptions. */
  #end(error?: unknown): void {
    this.close();
    for (const s of [...this.subscriptions]) {
      s.end(error);
      s.leave();
    }
  }

  /** No subscription left (or the group ended): stop listening, at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onEmpty();
    this.#release();
  }

  #release(): void {
    // PgSubscriber's return() removes the listener (UNLISTEN once nobody listens) and answers the pending next().
    for (const source of this.#sources.splice(0)) void source.return?.().catch(() => undefined);
  }
}

export class PresenceSubscriptions {
  readonly #groups = new Map<string, Group>();
  #open = 0;

  /** The subscriptions open on this server (/metrics: nexus_presence_subscriptions). */
  get open(): number {
    return this.#open;
  }

  /** A GrafastSubscriber for the listen() step of one subscription request. */
  subscriber(subscriber: GrafastSubscriber, withPgClient: WithPgClient, pgSettings: Settings, netId: string): GrafastSubscriber {
    return {
      subscribe: (topic: string) => this.#subscribe({ subscriber, withPgClient, pgSettings, netId, topic }),
    } as GrafastSubscriber;
  }

  #subscribe(options: GroupOptions): AsyncIterableIterator<unknown> {
    // Equal settings (role, claims, limits) and net: the same question to SQL, so the same answer.
    const key = JSON.stringify([options.netId, options.topic, Object.entries(options.pgSettings ?? {}).sort()]);
    let group = this.#groups.get(key);
    if (!group) {
      const created = new Group(options, () => {
        if (this.#groups.get(key) === created) this.#groups.delete(key);
      });
      this.#groups.set(key, created);
      void created.start();
      group = created;
    }
    const owner = group;
    const subscription = new Subscription((s) => {
      if (!owner.subscriptions.delete(s)) return;
      this.#open--;
      if (owner.subscriptions.size === 0) owner.close();
    });
    owner.subscriptions.add(subscription);
    this.#open++;
    return subscription;
  }
}

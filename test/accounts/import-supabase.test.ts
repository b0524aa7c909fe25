/**
 * Leaving Supabase: an old NomadNexus Supabase database, built here from that old schema (GoTrue's auth.users with
 * bcrypt hashes made by pgcrypto, lowercase ranks, voice_nets by `code`, …), imported with the CLI, then used the
 * way the old frontend uses it: supabase-js signs in with the old passwords and asks for a LiveKit token by the
 * net's old code.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { createClient } from "@supabase/supabase-js";
import { TokenVerifier } from "livekit-server-sdk";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { signJwt } from "../../core/jwt.ts";
import { freePort } from "../../core/net.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { LIVEKIT_ENV, LIVEKIT_KEY, LIVEKIT_SECRET } from "../support/livekit.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const P256DH = "BB352rV3H-rXRiQi64a0BzoCh9jM8m6j9y0Fq6nwGY8esbybTMQ8w7s977cnOT7ULnI8gVjvCvHiiHXhpm2KPYs";
const AUTH = "cQki06ubNJnY7UnPlCN1hA";

/** The old Supabase edition's schema, as far as the import reads it, with the kind of rows it held. */
const OLD_SCHEMA = `
create extension if not exists pgcrypto;
create schema auth;
create table auth.users (
  instance_id uuid, id uuid primary key, aud varchar(255) default 'authenticated', role varchar(255) default 'authenticated',
  email varchar(255), encrypted_password varchar(255), email_confirmed_at timestamptz, last_sign_in_at timestamptz,
  raw_app_meta_data jsonb default '{"provider":"email","providers":["email"]}', raw_user_meta_data jsonb default '{}',
  created_at timestamptz default now(), updated_at timestamptz default now()
);
create table public.profiles (
  id uuid primary key references auth.users (id), email text, rank text default 'vagrant', callsign text,
  full_name text, rsi_handle text, discord_id text, avatar_url text, created_at timestamptz default now()
);
create table public.squads (id uuid primary key default gen_random_uuid(), name text not null, description text, created_at timestamptz default now());
create table public.voice_nets (
  id uuid primary key default gen_random_uuid(), code text unique not null, label text, type text, priority integer,
  status text default 'active', event_id uuid, min_rank_to_join text, min_rank_to_rx text, min_rank_to_tx text,
  linked_squad_id uuid references public.squads (id), created_at timestamptz default now()
);
create table public.voice_net_bridges (
  id uuid primary key default gen_random_uuid(), source_net_id uuid references public.voice_nets (id),
  target_net_id uuid references public.voice_nets (id), created_by uuid, created_at timestamptz default now()
);
create table public.push_subscriptions (
  id uuid primary key default gen_random_uuid(), user_id uuid, endpoint text unique, p256dh text, auth text,
  user_agent text, created_at timestamptz default now()
);
create table public.skills (id uuid primary key default gen_random_uuid(), name text, description text, category text, created_at timestamptz default now());
create table public.mentor_certifications (user_id uuid, skill_id uuid, certified_by_legacy text, created_at timestamptz default now(), primary key (user_id, skill_id));

insert into auth.users (id, email, encrypted_password, raw_user_meta_data) values
  ('00000000-0000-4000-8000-00000000000a', 'Ada@Old.example', crypt('ada-old-password', gen_salt('bf')), '{"callsign":"IgnoredMeta"}'),
  ('00000000-0000-4000-8000-00000000000b', 'bea@old.example', crypt('bea-old-password', gen_salt('bf')), '{"callsign":"Bea Meta"}'),
  ('00000000-0000-4000-8000-00000000000c', 'cal@old.example', crypt('cal-old-password', gen_salt('bf')), '{}'),
  ('00000000-0000-4000-8000-00000000000d', 'taken@old.example', crypt('dee-old-password', gen_salt('bf')), '{}');
insert into public.profiles (id, email, rank, callsign, full_name, rsi_handle, discord_id) values
  ('00000000-0000-4000-8000-00000000000a', 'ada@old.example', 'pioneer', 'Ada', 'Ada L', 'ada_rsi', '1234'),
  ('00000000-0000-4000-8000-00000000000b', 'bea@old.example', 'scout', null, null, null, null),
  ('00000000-0000-4000-8000-00000000000c', 'cal@old.example', 'affiliate', null, 'Cal Rogers', null, null),
  ('00000000-0000-4000-8000-00000000000d', 'taken@old.example', 'voyager', null, null, null, null);
insert into public.squads (id, name) values ('00000000-0000-4000-8000-0000000000f1', 'Night Owls');
insert into public.voice_nets (id, code, label, type, priority, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values
  ('00000000-0000-4000-8000-0000000000e1', 'ops-net', 'Operations', 'command', 1, 'scout', 'scout', 'voyager'),
  ('00000000-0000-4000-8000-0000000000e2', 'general', 'General', 'general', 5, 'vagrant', 'vagrant', 'vagrant');
insert into public.voice_net_bridges (source_net_id, target_net_id, created_by) values
  ('00000000-0000-4000-8000-0000000000e1', '00000000-0000-4000-8000-0000000000e2', '00000000-0000-4000-8000-00000000000a');
insert into public.push_subscriptions (user_id, endpoint, p256dh, auth, user_agent) values
  ('00000000-0000-4000-8000-00000000000a', 'https://FCM.googleapis.com:443/fcm/send/ada-phone', '${P256DH}', '${AUTH}', 'Android'),
  ('00000000-0000-4000-8000-00000000000b', 'https://fcm.googleapis.com/fcm/send/bea-broken', 'not-a-key', 'x', null);
insert into public.skills (id, name) values ('00000000-0000-4000-8000-0000000000c1', 'Piloting');
insert into public.mentor_certifications (user_id, skill_id, certified_by_legacy) values
  ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000c1', 'founders-council');
`;

let old: TestDatabase;
let target: TestDatabase;
let t: TestServer | undefined;

beforeAll(async () => {
  old = await createTestDatabase({ empty: true });
  const client = new pg.Client({ connectionString: old.url });
  await client.connect();
  await client.query(OLD_SCHEMA);
  await client.end();
  target = await createTestDatabase();
  // A member already here whose callsign an imported e-mail's local part would take: the import must make it unique.
  await query(target, "select nexus_private.create_user('here@new.example', 'password-here', 'taken', 'VAGRANT')");
});
afterAll(async () => {
  await t?.close();
  await old?.drop();
  await target?.drop();
});

async function query<T extends pg.QueryResultRow = any>(db: TestDatabase, sql: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

function nexus(...args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: target.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

/** Everything the import touches here, to compare before and after a run. */
async function snapshot() {
  return {
    users: await query(target, "select id, email, password_hash from auth.users order by id"),
    profiles: await query(target, "select id, callsign, rank::text from public.profiles order by id"),
    nets: await query(target, "select * from public.voice_nets order by id"),
    bridges: await query(target, "select * from public.voice_net_bridges order by id"),
    subscriptions: await query(target, "select * from public.push_subscriptions order by id"),
    squads: await query(target, "select * from public.squads order by id"),
    skills: await query(target, "select * from public.skills order by id"),
    certifications: await query(target, "select * from public.mentor_certifications order by user_id"),
    imported: await query(target, "select source_table, source_key, local_table, local_id, old_row from nexus_private.imported_rows order by 1, 2"),
  };
}

describe("npm run nexus -- import supabase", () => {
  it("says in one line, and exit 2 (as for a wrong argument), when --from does not answer or is not an old Supabase database", async () => {
    const closed = new URL(old.url);
    closed.port = String(await freePort());
    const unreachable = nexus("import", "supabase", "--from", closed.toString());
    expect([unreachable.status, unreachable.stdout]).toEqual([2, ""]);
    expect(unreachable.stderr).toBe(`the database at 127.0.0.1:${closed.port} does not answer (ECONNREFUSED): check --from\n`);
    const before = await snapshot();
    const blank = await createTestDatabase({ empty: true });
    try {
      const empty = nexus("import", "supabase", "--from", blank.url);
      expect([empty.status, empty.stdout]).toEqual([2, ""]);
      expect(empty.stderr).toMatch(/^postgres:\/\/[^\n]* has neither auth\.users nor public\.profiles: not an old NomadNexus Supabase database \(check --from\)\n$/);
    } finally {
      await blank.drop();
    }
    expect(await snapshot(), "nothing was written").toEqual(before);
  });

  it("--dry-run lists what it would do and what has no column here, and writes nothing", async () => {
    const before = await snapshot();
    const run = nexus("import", "supabase", "--from", old.url, "--dry-run");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/dry run: nothing is written/);
    expect(run.stdout).toMatch(/auth\.users\s+4 rows: 4 would insert/);
    expect(run.stdout).toMatch(/public\.profiles\s+4 rows: 4 would insert/);
    expect(run.stdout).toMatch(/public\.voice_nets\s+2 rows: 2 would insert/);
    expect(run.stdout).toMatch(/no column here \(kept as jsonb in nexus_private\.imported_rows\): .*discord_id.*rsi_handle/);
    expect(run.stdout).toMatch(/no column here .*priority.*status.*type/);
    expect(run.stdout).toMatch(/no column here .*user_agent/);
    expect(run.stdout).toMatch(/not brought over[\s\S]*bea-broken/);
    expect(run.stdout).not.toContain(new URL(old.url).password || "\u0000");
    expect(await snapshot()).toEqual(before);
  });

  it("imports: same ids and passwords, ranks to the enum, callsigns derived and unique, nets by code, bridges, subscriptions", async () => {
    const run = nexus("import", "supabase", "--from", old.url);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/public\.voice_net_bridges\s+1 rows: 1 insert/);
    const profiles = await query(target, "select id, callsign, rank::text from public.profiles where id::text like '00000000-%' order by id");
    expect(profiles).toEqual([
      { id: "00000000-0000-4000-8000-00000000000a", callsign: "Ada", rank: "PIONEER" },
      { id: "00000000-0000-4000-8000-00000000000b", callsign: "Bea Meta", rank: "SCOUT" },
      { id: "00000000-0000-4000-8000-00000000000c", callsign: "Cal Rogers", rank: "AFFILIATE" },
      { id: "00000000-0000-4000-8000-00000000000d", callsign: "taken-2", rank: "VOYAGER" },
    ]);
    expect(await query(target, "select name, room_name, min_rank_to_join::text j, min_rank_to_rx::text x, min_rank_to_tx::text t from public.voice_nets order by room_name")).toEqual([
      { name: "General", room_name: "general", j: "VAGRANT", x: "VAGRANT", t: "VAGRANT" },
      { name: "Operations", room_name: "ops-net", j: "SCOUT", x: "SCOUT", t: "VOYAGER" },
    ]);
    expect(await query(target, "select count(*)::int n from public.voice_net_bridges")).toEqual([{ n: 1 }]);
    expect(await query(target, "select user_id, endpoint from public.push_subscriptions")).toEqual([
      { user_id: "00000000-0000-4000-8000-00000000000a", endpoint: "https://fcm.googleapis.com/fcm/send/ada-phone" },
    ]);
    expect(await query(target, "select user_id from public.mentor_certifications")).toEqual([{ user_id: "00000000-0000-4000-8000-00000000000a" }]);
    const [kept] = await query(target, "select old_row from nexus_private.imported_rows where source_table = 'public.profiles' and source_key like '%0a'");
    expect(kept.old_row).toMatchObject({ rsi_handle: "ada_rsi", discord_id: "1234" });
  });

  it("a second run changes nothing and duplicates nothing", async () => {
    const before = await snapshot();
    const run = nexus("import", "supabase", "--from", old.url);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/auth\.users\s+4 rows: 4 unchanged/);
    expect(run.stdout).toMatch(/public\.voice_nets\s+2 rows: 2 unchanged/);
    expect(await snapshot()).toEqual(before);
  });

  it("old members sign in with their old passwords through supabase-js and get a LiveKit token for a net by its old code", async () => {
    t = await startTestServer({ db: target, env: { NODE_ENV: "production", ...LIVEKIT_ENV } });
    const anonKey = await signJwt(TEST_JWT_SECRET, { role: "anon" }, 3600);
    const verifier = new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET);
    for (const [email, password, canPublish] of [
      ["ada@old.example", "ada-old-password", true],
      ["bea@old.example", "bea-old-password", false],
    ] as const) {
      const supabase = createClient(t.baseUrl, anonKey, { auth: { persistSession: false, autoRefreshToken: false } });
      const signIn = await supabase.auth.signInWithPassword({ email, password });
      expect(signIn.error).toBeNull();
      const voice = await supabase.functions.invoke("livekit-token", { body: { roomName: "ops-net", participantName: "old-frontend" } });
      expect(voice.error).toBeNull();
      const grant = await verifier.verify(voice.data.token);
      expect(grant.video).toMatchObject({ room: "ops-net", roomJoin: true, canPublish });
    }
    const cal = createClient(t.baseUrl, anonKey, { auth: { persistSession: false, autoRefreshToken: false } });
    expect((await cal.auth.signInWithPassword({ email: "cal@old.example", password: "wrong" })).error).toMatchObject({ status: 400 });
  });
});

-- migrate:up
/*
 * Per-member rate limits: one token bucket per member and action ('livekit_token' for voice and sim pod tokens).
 * A bucket holds at most `burst` tokens and refills at `per_minute`; each issuance takes tokens, and a request
 * that finds too few is refused with RATE_LIMITED and the seconds until enough have refilled.
 *
 * Servers are stateless and may be many, so the buckets live here and are updated in the same transaction as
 * the decision they guard. UNLOGGED: a bucket is a few seconds of throttling state, not a record; after a crash
 * the table comes back empty and every member starts with a full bucket, which is the right failure. It is not
 * an audit of who asked for what (the audit log is).
 */
create unlogged table nexus_private.rate_limit_buckets (
  user_id uuid not null references public.profiles (id) on delete cascade,
  action text not null,
  tokens double precision not null,
  refilled_at timestamptz not null,
  primary key (user_id, action)
);
comment on table nexus_private.rate_limit_buckets is
  'Token buckets for per-member rate limits (nexus_private.take_rate_limit); unlogged: emptied by a crash, which refills every bucket.';

-- migrate:down
-- The functions db/functions/80_rate_limits.sql adds for the buckets go with them (fail_rate_limited stays:
-- it reads no table, and rescue flares raise their hourly limit with it).
drop function if exists nexus_private.rate_limited(text, integer, anyelement);
drop function if exists nexus_private.take_rate_limit(text, integer);
drop function if exists nexus_private.charge_rate_limit(uuid, text, integer);
drop function if exists nexus_private.rate_limit_setting(text, integer);
drop table if exists nexus_private.rate_limit_buckets;

/*
 * Per-member rate limits (token buckets in nexus_private.rate_limit_buckets). Refusals are RATE_LIMITED with the
 * seconds to wait in the error's HINT as `retry_after=N`; core/errors.ts reads it once for both edges (REST
 * `Retry-After` header, GraphQL `extensions.retryAfter`).
 *
 * Limits come from settings the API server passes with every request (server/auth.ts configPgSettings), so they
 * are configured by environment; an operator may also set them for a database or role
 * (`alter database … set nexus.livekit_token_burst = 40`):
 *   nexus.livekit_tokens_per_minute    LIVEKIT_TOKENS_PER_MINUTE    refill rate (default 30)
 *   nexus.livekit_token_burst          LIVEKIT_TOKEN_BURST          bucket size (default 20)
 *   nexus.push_registrations_per_hour  PUSH_REGISTRATIONS_PER_HOUR  refill rate of push registrations (default 60)
 *   nexus.push_registration_burst      PUSH_REGISTRATION_BURST      bucket size (default 20)
 *   nexus.rank_changes_per_hour        RANK_CHANGES_PER_HOUR        refill rate of rank changes (default 600)
 *   nexus.rank_change_burst            RANK_CHANGE_BURST            bucket size (default 60)
 */

/* Refuse with RATE_LIMITED, saying how long to wait (at least one second). */
create or replace function nexus_private.fail_rate_limited(detail text, retry_after_seconds integer) returns void
language plpgsql immutable parallel safe as $$
begin
  raise exception using
    errcode = 'NX429',
    message = 'RATE_LIMITED',
    detail = detail,
    hint = 'retry_after=' || greatest(1, coalesce(retry_after_seconds, 1));
end
$$;
comment on function nexus_private.fail_rate_limited(text, integer) is
  'Raise RATE_LIMITED with hint retry_after=N (seconds), which the edges turn into Retry-After.';
grant execute on function nexus_private.fail_rate_limited(text, integer) to anon, authenticated, service_role;

/*
 * A positive whole-number setting (nexus.<name>), or the default when unset or unreadable. Plain SQL, one CASE,
 * so the planner inlines it into the expression that calls it.
 */
create or replace function nexus_private.rate_limit_setting(name text, fallback integer) returns integer
language sql stable parallel safe as $$
  select case
    when pg_catalog.btrim(coalesce(pg_catalog.current_setting('nexus.' || name, true), '')) ~ '^[0-9]{1,9}$'
     and pg_catalog.btrim(pg_catalog.current_setting('nexus.' || name, true))::integer > 0
    then pg_catalog.btrim(pg_catalog.current_setting('nexus.' || name, true))::integer
    else fallback
  end
$$;
grant execute on function nexus_private.rate_limit_setting(text, integer) to anon, authenticated, service_role;

/*
 * Take `cost` tokens from `member`'s bucket for `action`: true when taken. When they do not fit, refuse with
 * RATE_LIMITED (saying when they will), or, with `refuse` false, take nothing and return false: a batch that
 * has already been granted part of what it asked for answers the rest per item (public.issue_voice_grants).
 * Called by the decisions it guards with their caller (public.issue_voice_grants, public.accept_training,
 * public.join_sim_pod, public.subscribe_push, public.set_member_rank), inside their own transaction and their own security definer context, so it needs
 * neither security definer nor SET clauses of its own (each costs a GUC save and restore per call); not
 * executable by the API roles, whose way in is take_rate_limit() below.
 *
 * The bucket row is locked by the upsert until the transaction ends, so two servers deciding for one member at
 * the same moment take turns; if the transaction rolls back (the guarded decision failed), so does the charge. A
 * cost above the bucket size is charged as a full bucket. The member must exist (their profile is the bucket's
 * foreign key): the callers have just checked it.
 */
create or replace function nexus_private.charge_rate_limit(member uuid, action text, cost integer, refuse boolean default true)
returns boolean
language plpgsql volatile as $$
declare
  burst double precision;
  per_second double precision;
  wanted double precision;
  available double precision;
  retry_after integer;
begin
  if member is null then
    return true;
  end if;
  case action
    when 'livekit_token' then
      burst := nexus_private.rate_limit_setting('livekit_token_burst', 20);
      per_second := nexus_private.rate_limit_setting('livekit_tokens_per_minute', 30) / 60.0;
    when 'push_registration' then
      burst := nexus_private.rate_limit_setting('push_registration_burst', 20);
      per_second := nexus_private.rate_limit_setting('push_registrations_per_hour', 60) / 3600.0;
    when 'rank_change' then
      burst := nexus_private.rate_limit_setting('rank_change_burst', 60);
      per_second := nexus_private.rate_limit_setting('rank_changes_per_hour', 600) / 3600.0;
    else
      raise exception 'charge_rate_limit: unknown action %', action;
  end case;
  wanted := least(greatest(coalesce(cost, 1), 1), burst);

  insert into nexus_private.rate_limit_buckets as b (user_id, action, tokens, refilled_at)
  values (member, charge_rate_limit.action, burst - wanted, clock_timestamp())
  on conflict on constraint rate_limit_buckets_pkey do update
     set tokens = least(burst, b.tokens + greatest(0, extract(epoch from clock_timestamp() - b.refilled_at)) * per_second) - wanted,
         refilled_at = clock_timestamp()
   where least(burst, b.tokens + greatest(0, extract(epoch from clock_timestamp() - b.refilled_at)) * per_second) >= wanted;
  if found then
    return true;
  end if;
  if not refuse then
    return false;
  end if;

  -- The row is locked by the upsert above: what it holds now is what the next request will find.
  select least(burst, b.tokens + greatest(0, extract(epoch from clock_timestamp() - b.refilled_at)) * per_second)
    into available
    from nexus_private.rate_limit_buckets b
   where b.user_id = member and b.action = charge_rate_limit.action;
  retry_after := ceil((wanted - coalesce(available, 0)) / per_second)::integer;
  perform nexus_private.fail_rate_limited(nexus_private.rate_limit_message(action, burst, per_second, retry_after), retry_after);
  return false;
end
$$;
comment on function nexus_private.charge_rate_limit(uuid, text, integer, boolean) is
  'Take tokens from a member''s bucket for an action (livekit_token, push_registration, rank_change): true, or RATE_LIMITED with retry_after (false instead when refuse is false). Called by the decisions it guards.';
revoke execute on function nexus_private.charge_rate_limit(uuid, text, integer, boolean) from public;

/*
 * The caller's bucket, for SQL that runs as an API role: no member (service_role, anon, a token whose member no
 * longer exists) has no bucket, and the guarded decision refuses them on its own.
 */
create or replace function nexus_private.take_rate_limit(action text, cost integer default 1) returns void
language plpgsql volatile security definer
set search_path = pg_catalog, public
as $$
declare
  caller uuid := auth.uid();
begin
  if caller is null or not exists (select 1 from public.profiles p where p.id = caller) then
    return;
  end if;
  perform nexus_private.charge_rate_limit(caller, action, cost);
end
$$;
comment on function nexus_private.take_rate_limit(text, integer) is
  'Take tokens from the caller''s bucket for an action (livekit_token), or raise RATE_LIMITED with retry_after.';
grant execute on function nexus_private.take_rate_limit(text, integer) to anon, authenticated, service_role;

/* The words of a RATE_LIMITED refusal, shared by the whole-request and the per-net forms. */
create or replace function nexus_private.rate_limit_message(action text, burst double precision, per_second double precision, retry_after integer)
returns text
language sql immutable parallel safe as $$
  select format('too many %s: at most %s at once, then %s %s; try again in %s seconds',
    case action when 'livekit_token' then 'LiveKit tokens' when 'push_registration' then 'push registrations'
                when 'rank_change' then 'rank changes' else action end,
    burst,
    case when action in ('push_registration', 'rank_change') then round(per_second * 3600) else round(per_second * 60) end,
    case when action in ('push_registration', 'rank_change') then 'an hour' else 'a minute' end,
    greatest(1, retry_after))
$$;
grant execute on function nexus_private.rate_limit_message(text, double precision, double precision, integer) to anon, authenticated, service_role;

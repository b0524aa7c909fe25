/*
 * Sign-up, sign-in, refresh, sign-out and password change: the rules behind GraphQL `register`, `authenticate`,
 * `refreshSession`, `signOut` and the GoTrue-compatible /auth/v1 routes, which are thin adapters over these
 * functions. The server only signs the access JWT (sub, role, session_id, exp = now + JWT_TTL) for the session
 * these return; the refresh token is made here and only its SHA-256 is kept (nexus_private.sessions,
 * nexus_private.refresh_tokens).
 *
 * Limits come from settings the server passes with these calls (server/accounts/sessions.ts), or that an operator
 * sets for the database (`alter database … set nexus.auth_max_failed_logins = 5`):
 *   nexus.auth_max_failed_logins     AUTH_MAX_FAILED_LOGINS   wrong passwords for one account from one client
 *                                                             address per 15 minutes (10)
 *   nexus.auth_max_failed_logins_per_address  AUTH_MAX_FAILED_LOGINS_PER_ADDRESS  … from one address over all
 *                                                             accounts (50): password spraying
 *   nexus.auth_max_failed_logins_per_account  AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT  … for one account over all
 *                                                             addresses (100): guessing from many addresses
 *   nexus.auth_signups_per_hour      AUTH_SIGNUPS_PER_HOUR    sign-ups per client address an hour, those refused
 *                                                             as taken included (30)
 *   nexus.auth_max_logins_per_address  AUTH_MAX_LOGINS_PER_ADDRESS  password sign-ins, right or wrong, from one
 *                                                             client address per 5 minutes (30)
 *   nexus.auth_password_changes_per_hour  AUTH_PASSWORD_CHANGES_PER_HOUR  password changes per member an hour (10)
 *   nexus.refresh_token_reuse_seconds                         how long a rotated refresh token still works (10)
 *   nexus.refresh_tokens_kept                                 rotated refresh tokens a session keeps whatever
 *                                                             their age, newest first, to recognise their reuse (10)
 *   nexus.refresh_token_retention_days                        how long every other rotated token is kept (7)
 *   nexus.session_refreshes_per_hour                          refreshes of one session an hour (60)
 *   nexus.session_idle_days                                   a session not refreshed for this long ends (30)
 */

-- The old signatures (a bare user id; the 7-day JWT) are replaced by the session-returning ones below.
drop function if exists auth.authenticate(text, text);
drop function if exists auth.register(text, text, text);

/*
 * Does a password match a stored bcrypt hash? pgcrypto makes `$2a$` hashes and reads `$2a$`/`$2x$`; Supabase's
 * GoTrue wrote `$2a$`, other bcrypt libraries `$2b$`/`$2y$`, which are the same algorithm for passwords this short
 * (at most 72 bytes), so they are checked as `$2a$`. Anything else never matches.
 */
create or replace function nexus_private.password_matches(password text, hash text) returns boolean
language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare
  as_2a text;
begin
  if password is null or hash is null or hash !~ '^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' then
    return false;
  end if;
  as_2a := case when substr(hash, 1, 4) in ('$2b$', '$2y$') then '$2a$' || substr(hash, 5) else hash end;
  return crypt(password, as_2a) = as_2a;
end
$$;

/*
 * The next refresh token of a session: random for a session's first, and for each later one derived from the token
 * it replaces (`parent_token`, as the client presented it) with the session's refresh_secret, so the same parent
 * always gets the same successor: a parent presented again within the reuse window answers with the newest token
 * of the chain it leads to, and the session stays one chain (no live forks). Only the SHA-256 is stored.
 */
do $$
begin
  if to_regprocedure('nexus_private.issue_refresh_token(uuid, bigint)') is not null then
    drop function nexus_private.issue_refresh_token(uuid, bigint);
  end if;
end
$$;
create or replace function nexus_private.issue_refresh_token(session uuid, parent bigint, parent_token text default null) returns text
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  secret bytea;
  token text;
  known nexus_private.refresh_tokens;
begin
  if parent_token is null then
    token := translate(encode(gen_random_bytes(32), 'base64'), '+/=', '-_');
  else
    select s.refresh_secret into secret from nexus_private.sessions s where s.id = session;
    -- The successor may itself have been exchanged already (a tab refreshed twice meanwhile): answer with the
    -- chain's newest token, as GoTrue does, not one that is already used. The chain is short (each step was a
    -- refresh); the bound only keeps a loop finite.
    token := parent_token;
    for step in 1..100 loop
      token := translate(encode(hmac(convert_to(token, 'UTF8'), secret, 'sha256'), 'base64'), '+/=', '-_');
      select t.* into known from nexus_private.refresh_tokens t where t.token_hash = sha256(convert_to(token, 'UTF8'));
      exit when known.id is null or known.rotated_at is null;
      parent := known.id;
    end loop;
  end if;
  insert into nexus_private.refresh_tokens (session_id, token_hash, parent_id)
  values (session, sha256(convert_to(token, 'UTF8')), parent)
  on conflict (token_hash) do nothing;
  return token;
end
$$;

/* A session for a member who just proved who they are. */
create or replace function nexus_private.open_session(member uuid, user_agent text, client_address text)
returns auth.session_outcome
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  result auth.session_outcome;
begin
  insert into nexus_private.sessions (user_id, user_agent, client_address)
  values (member, left(user_agent, 512), left(client_address, 64))
  returning id into result.session_id;
  result.user_id := member;
  result.refresh_token := nexus_private.issue_refresh_token(result.session_id, null);
  return result;
end
$$;

/* A refusal, as a row (see auth.session_outcome). */
create or replace function nexus_private.session_refused(error text, reason text, detail text, retry_after integer default null)
returns auth.session_outcome
language sql immutable as $$
  select row(null, null, null, error, reason, detail, retry_after)::auth.session_outcome
$$;
-- Pure: auth.change_password_and_callsign, which runs as its caller, answers its refusals with it too.
grant execute on function nexus_private.session_refused(text, text, text, integer) to authenticated;

/*
 * What the limits per client address count as one address: an IPv4 address (also when it arrives IPv4-mapped,
 * ::ffff:a.b.c.d, as node reports IPv4 peers on a dual-stack socket), an IPv6 address's /64 (one subscriber's
 * network, in which a client may take a fresh address for every request), `unknown` for none, and one
 * `not-an-address` for anything else the server passed. Session rows keep the address as it came.
 */
create or replace function nexus_private.limit_address(address text) returns text
language plpgsql immutable set search_path = pg_catalog as $$
declare
  given text := nullif(btrim(address), '');
  parsed inet;
begin
  if given is null then
    return 'unknown';
  end if;
  if given ~ '^[0-9A-Fa-f:.]{2,45}$' then
    begin
      parsed := given::inet;
    exception when invalid_text_representation then
      parsed := null;
    end;
  end if;
  if parsed is null then
    -- Not an address (a proxy or client sent something else): one bucket for all such, so no string buys a
    -- fresh count.
    return 'not-an-address';
  elsif family(parsed) = 4 then
    return host(parsed);
  elsif parsed << inet '::ffff:0.0.0.0/96' then
    return substr(host(parsed), length('::ffff:') + 1);
  end if;
  return host(network(set_masklen(parsed, 64))) || '/64';
end
$$;

/* Whole seconds from now until `moment`, at least 1: what a limit's refusal says to wait (Retry-After). */
create or replace function nexus_private.seconds_until(moment timestamptz) returns integer
language sql stable as $$
  select greatest(1, ceil(extract(epoch from moment - now()))::integer)
$$;

/*
 * How many seconds until `subject` may try `kind` again: null while it has had fewer than `maximum` such events
 * in the last `span`. `exact` (the default) locks the subject until the caller's transaction ends, so parallel
 * attempts take turns instead of all reading the same count, and drops its events past the window on the way;
 * without it the look is unlocked and cheap, to refuse a flood before it pays for bcrypt, and the caller looks
 * again, exactly, after bcrypt (so the lock is never held while bcrypt runs, and waiting for it never holds a
 * connection for long).
 */
do $$
begin
  if to_regprocedure('nexus_private.auth_limit_wait(text, text, integer, interval)') is not null then
    drop function nexus_private.auth_limit_wait(text, text, integer, interval);
  end if;
end
$$;
create or replace function nexus_private.auth_limit_wait(kind text, subject text, maximum integer, span interval,
  exact boolean default true)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  recent integer;
  oldest timestamptz;
begin
  if exact then
    perform pg_advisory_xact_lock(hashtextextended('nexus.' || kind || ':' || subject, 0));
    delete from nexus_private.auth_limit_events e
     where e.kind = auth_limit_wait.kind and e.subject = auth_limit_wait.subject and e.happened_at < now() - span;
  end if;
  select count(*), min(e.happened_at) into recent, oldest from nexus_private.auth_limit_events e
   where e.kind = auth_limit_wait.kind and e.subject = auth_limit_wait.subject and e.happened_at >= now() - span;
  if recent >= maximum then
    return nexus_private.seconds_until(oldest + span);
  end if;
  return null;
end
$$;

/*
 * Public sign-up: a VAGRANT account and its first session. At most nexus.auth_signups_per_hour sign-ups per
 * client address an hour (the server says which address: the socket's, or X-Forwarded-For's when TRUST_PROXY
 * says the proxy is believed); an unknown address counts as one address, so the limit never falls away.
 *
 * A sign-up refused because its e-mail or callsign is taken counts as one all the same: with no e-mail
 * confirmation, a free callsign and a taken e-mail must be refused as taken, so each such answer tells whether an
 * account exists, and the limit is what bounds that probing. That refusal is therefore a row (CONFLICT, reason
 * user_already_exists for the e-mail), not an exception, so the counted event is kept; create_user checks the
 * callsign before the e-mail, so a taken callsign answers the same whether the e-mail is known or not. A value
 * that is malformed (BAD_REQUEST: e-mail, password length, callsign) tells nothing about anyone and is raised,
 * uncounted; so is RATE_LIMITED, which counts nothing either.
 */
create or replace function auth.register(
  email text, password text, callsign text, user_agent text default null, client_address text default null
) returns auth.session_outcome
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  address text := nexus_private.limit_address(client_address);
  max_sign_ups integer := nexus_private.rate_limit_setting('auth_signups_per_hour', 30);
  wait integer := nexus_private.auth_limit_wait('sign_up', address, max_sign_ups, interval '1 hour');
  member uuid;
  refusal text;
  refusal_hint text;
begin
  if wait is not null then
    perform nexus_private.fail_rate_limited(
      format('too many sign-ups from this address: at most %s an hour; try again in %s seconds', max_sign_ups, wait), wait);
  end if;
  insert into nexus_private.auth_limit_events (kind, subject) values ('sign_up', address);
  begin
    member := nexus_private.create_user(email, password, callsign, 'VAGRANT');
  exception when sqlstate 'NX409' then
    -- Only create_user's own work is undone (this block is a subtransaction): the event above stays counted.
    get stacked diagnostics refusal = pg_exception_detail, refusal_hint = pg_exception_hint;
    return nexus_private.session_refused('CONFLICT', substring(refusal_hint from 'reason=([a-z_]+)'), refusal);
  end;
  return nexus_private.open_session(member, user_agent, client_address);
end
$$;
grant execute on function auth.register(text, text, text, text, text) to anon, authenticated;

/*
 * Whether a password may be tried now for `account_email` from `address`: wait is null while it may, else the
 * seconds until the limit that holds it lets go, and detail says which. Wrong passwords in the last 15 minutes are
 * counted three ways (nexus_private.auth_limit_events, kind sign_in_failure):
 *   - this account from this address: nexus.auth_max_failed_logins (10). A stranger who knows an e-mail locks
 *     the account only for their own address; its owner elsewhere still signs in;
 *   - this address over every account: nexus.auth_max_failed_logins_per_address (50), against spraying a few
 *     passwords over many accounts;
 *   - this account over every address: nexus.auth_max_failed_logins_per_account (100), the ceiling for guessing
 *     one account from many addresses (this one does lock the owner out, but needs ten addresses at least).
 * `exact` locks the address, then the account (every caller takes them in that order) until the transaction
 * ends, so parallel attempts take turns and none reads a count another is about to raise; without it the look
 * is unlocked and cheap, to refuse a flood before it pays for bcrypt.
 */
create or replace function nexus_private.sign_in_wait(account_email text, address text, exact boolean,
  out wait integer, out detail text)
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  span constant interval := interval '15 minutes';
  per_pair integer := nexus_private.rate_limit_setting('auth_max_failed_logins', 10);
  per_address integer := nexus_private.rate_limit_setting('auth_max_failed_logins_per_address', 50);
  per_account integer := nexus_private.rate_limit_setting('auth_max_failed_logins_per_account', 100);
  counts record;
begin
  if exact then
    perform pg_advisory_xact_lock(hashtextextended('nexus.sign_in_failure.address:' || address, 0));
    perform pg_advisory_xact_lock(hashtextextended('nexus.sign_in_failure:' || account_email, 0));
    -- Only this pair's old rows: both of its locks are held, so no other sign-in is deleting them (rows of other
    -- pairs are left to the counts' time filter and the worker's hourly sweep; deleting those here could
    -- deadlock two sign-ins that each hold one of their locks).
    delete from nexus_private.auth_limit_events e
     where e.kind = 'sign_in_failure' and e.subject = account_email and e.client_address = address
       and e.happened_at < now() - span;
  end if;
  select count(*) filter (where e.subject = account_email and e.client_address = address) as pair,
         min(e.happened_at) filter (where e.subject = account_email and e.client_address = address) as pair_oldest,
         count(*) filter (where e.client_address = address) as by_address,
         min(e.happened_at) filter (where e.client_address = address) as address_oldest,
         count(*) filter (where e.subject = account_email) as by_account,
         min(e.happened_at) filter (where e.subject = account_email) as account_oldest
    into counts
    from nexus_private.auth_limit_events e
   where e.kind = 'sign_in_failure' and (e.subject = account_email or e.client_address = address)
     and e.happened_at >= now() - span;
  -- The limit that holds longest decides; none past its limit leaves wait null.
  select held.wait, format(held.message, held.wait) into wait, detail
    from (values
      (counts.pair >= per_pair, counts.pair_oldest, 'too many failed sign-ins for this account from this address; try again in %s seconds'),
      (counts.by_address >= per_address, counts.address_oldest, 'too many failed sign-ins from this address; try again in %s seconds'),
      (counts.by_account >= per_account, counts.account_oldest, 'too many failed sign-ins for this account; try again in %s seconds')
    ) as limited (reached, oldest, message)
    cross join lateral (select nexus_private.seconds_until(limited.oldest + span) as wait, limited.message) held
   where limited.reached
   order by held.wait desc
   limit 1;
end
$$;

/*
 * A wrong password was tried for `account_email` from `address` (after sign_in_wait(…, exact => true) let it be
 * judged), or the right one: that clears what this address got wrong for this account (the owner's own typos),
 * and nothing counted from elsewhere.
 */
create or replace function nexus_private.sign_in_judged(account_email text, address text, matched boolean) returns void
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  if matched then
    delete from nexus_private.auth_limit_events e
     where e.kind = 'sign_in_failure' and e.subject = account_email and e.client_address = address;
  else
    insert into nexus_private.auth_limit_events (kind, subject, client_address) values ('sign_in_failure', account_email, address);
  end if;
end
$$;

/*
 * One password guess for `account_email` from `address`, checked against `hash` (null: no such account, which
 * pays for bcrypt all the same, so the answer does not tell which accounts exist): refused past a limit of
 * sign_in_wait (wait and detail set, nothing counted), else judged and counted (matched). An attempt already
 * past a limit is refused before bcrypt; bcrypt runs unlocked, and the attempts that passed the first look
 * together are then judged one at a time.
 */
create or replace function nexus_private.password_attempt(account_email text, address text, password text, hash text,
  out matched boolean, out wait integer, out detail text)
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  held record := nexus_private.sign_in_wait(account_email, address, false);
begin
  if held.wait is null then
    if hash is null then
      perform crypt(coalesce(password, ''), '$2a$10$CwTycUXWue0Thq9StjUM0uJ8DPLKXt1FYlwYpQW8G7F1sM9G3Sx1e');
      matched := false;
    else
      matched := nexus_private.password_matches(coalesce(password, ''), hash);
    end if;
    held := nexus_private.sign_in_wait(account_email, address, true);
  end if;
  if held.wait is not null then
    wait := held.wait;
    detail := held.detail;
    matched := false;
    return;
  end if;
  perform nexus_private.sign_in_judged(account_email, address, matched);
end
$$;

/*
 * Sign-in with e-mail and password: a new session, or a refusal row. At most nexus.auth_max_logins_per_address
 * password sign-ins (right or wrong, any account) from one client address per 5 minutes: each one costs a bcrypt
 * and, when right, a session row, so a correct password in a loop is metered too. Past it the address is
 * RATE_LIMITED before anything is looked up or hashed (nothing more is counted) until the oldest attempt of the 5
 * minutes leaves the window. Sign-ins that passed that look together are counted one at a time after bcrypt,
 * so exactly the limit get through (the few over it paid a bcrypt and open nothing, though their password's outcome
 * was judged: a wrong one counts as a failure, a right one clears the address's failures, as any attempt does).
 * Past any limit of sign_in_wait (above)
 * every attempt is RATE_LIMITED, even with the right password, until the oldest failure it counts leaves the
 * window. An unknown e-mail, or an account whose profile is gone (a deleted member), is refused like a wrong
 * password, is counted the same way and still pays for bcrypt, so the answer does not tell which accounts exist.
 * The address is the one the server believed (the socket's, or X-Forwarded-For's as TRUST_PROXY allows); none
 * counts as the address `unknown`, so the limits never fall away.
 */
create or replace function auth.sign_in(email text, password text, user_agent text default null, client_address text default null)
returns auth.session_outcome
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  account_email text := lower(btrim(coalesce(email, '')));
  address text := nexus_private.limit_address(client_address);
  max_attempts integer := nexus_private.rate_limit_setting('auth_max_logins_per_address', 30);
  wait integer := nexus_private.auth_limit_wait('sign_in_attempt', address, max_attempts, interval '5 minutes', false);
  account auth.users;
  attempt record;
begin
  if wait is null then
    select u.* into account from auth.users u
     where lower(u.email) = account_email and exists (select 1 from public.profiles p where p.id = u.id);
    attempt := nexus_private.password_attempt(account_email, address, password, account.password_hash);
    -- After the locks password_attempt took (every sign-in takes them in this order).
    wait := nexus_private.auth_limit_wait('sign_in_attempt', address, max_attempts, interval '5 minutes');
  end if;
  if wait is not null then
    return nexus_private.session_refused('RATE_LIMITED', 'over_request_rate_limit',
      format('too many sign-ins from this address: at most %s in 5 minutes; try again in %s seconds', max_attempts, wait), wait);
  end if;
  insert into nexus_private.auth_limit_events (kind, subject) values ('sign_in_attempt', address);
  if attempt.wait is not null then
    return nexus_private.session_refused('RATE_LIMITED', 'over_request_rate_limit', attempt.detail, attempt.wait);
  end if;
  if not attempt.matched then
    return nexus_private.session_refused('UNAUTHENTICATED', 'invalid_credentials', 'wrong email or password');
  end if;
  return nexus_private.open_session(account.id, user_agent, client_address);
end
$$;
grant execute on function auth.sign_in(text, text, text, text) to anon, authenticated;

/* End a session for a reason (sign-out, password change, refresh token reuse, operator, expiry). */
create or replace function nexus_private.revoke_session(session uuid, reason text) returns boolean
language sql volatile security definer set search_path = pg_catalog, public as $$
  with revoked as (
    update nexus_private.sessions s set revoked_at = now(), revoked_reason = reason
     where s.id = session and s.revoked_at is null
    returning 1)
  select exists (select 1 from revoked)
$$;

/*
 * A session's rotated refresh tokens are what reuse is recognised by (auth.refresh_session), so they are kept a
 * while: its nexus.refresh_tokens_kept (10) newest whatever their age, every other one until it has been rotated for
 * nexus.refresh_token_retention_days (7). Not by count alone: whoever holds a copy of the live token sets the pace,
 * and eleven quick refreshes would otherwise push a stolen token's twin out before its owner presented it (and the
 * session would not be revoked). How many a session can gather in that time is bounded by
 * nexus.session_refreshes_per_hour. A token's successors are always newer than it, so every token kept still leads
 * to the chain's head. Returns how many were deleted. The caller holds the session's row lock.
 */
create or replace function nexus_private.trim_refresh_tokens(session uuid) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  kept integer := nexus_private.rate_limit_setting('refresh_tokens_kept', 10);
  retention integer := nexus_private.rate_limit_setting('refresh_token_retention_days', 7);
  removed integer;
begin
  delete from nexus_private.refresh_tokens t
   where t.session_id = session and t.rotated_at is not null and t.rotated_at < now() - make_interval(days => retention)
     and t.id < (select k.id from nexus_private.refresh_tokens k
                  where k.session_id = session and k.rotated_at is not null
                  order by k.id desc offset kept - 1 limit 1);
  get diagnostics removed = row_count;
  return removed;
end
$$;

/*
 * Exchange a refresh token for a new one (and, in the server, a new access JWT). The presented token must belong
 * to a live session of a member who still has a profile. A token that was already exchanged still works for
 * nexus.refresh_token_reuse_seconds (two tabs refreshing at once); presented later, it is taken for a stolen
 * copy and the whole session is revoked, as GoTrue does. Refusals are rows, so that revocation is kept.
 * Rotated tokens are remembered for nexus.refresh_token_retention_days (trim_refresh_tokens; the 10 newest longer):
 * one older than that is unknown, refused as refresh_token_not_found, and refreshes nothing, but no longer revokes
 * the session. At most nexus.session_refreshes_per_hour refreshes of one session an hour (supabase-js refreshes
 * about once per JWT_TTL); past it RATE_LIMITED until the oldest leaves the hour. A reuse is still recognised (and
 * the session revoked) past that limit.
 */
create or replace function auth.refresh_session(refresh_token text) returns auth.session_outcome
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  reuse_seconds integer := nexus_private.rate_limit_setting('refresh_token_reuse_seconds', 10);
  idle_days integer := nexus_private.rate_limit_setting('session_idle_days', 30);
  max_refreshes integer := nexus_private.rate_limit_setting('session_refreshes_per_hour', 60);
  wait integer;
  token nexus_private.refresh_tokens;
  session nexus_private.sessions;
  result auth.session_outcome;
begin
  if refresh_token is null or length(refresh_token) not between 16 and 128 then
    return nexus_private.session_refused('UNAUTHENTICATED', 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  end if;
  select t.session_id into token.session_id from nexus_private.refresh_tokens t
   where t.token_hash = sha256(convert_to(refresh_token, 'UTF8'));
  if token.session_id is null then
    return nexus_private.session_refused('UNAUTHENTICATED', 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  end if;
  -- Refreshes of one session take turns; read the token again under the lock (a racing refresh may have rotated it).
  select s.* into session from nexus_private.sessions s where s.id = token.session_id for update;
  select t.* into token from nexus_private.refresh_tokens t where t.token_hash = sha256(convert_to(refresh_token, 'UTF8'));

  if session.revoked_at is not null or not exists (select 1 from public.profiles p where p.id = session.user_id) then
    return nexus_private.session_refused('UNAUTHENTICATED', 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  end if;
  if session.refreshed_at < now() - make_interval(days => idle_days) then
    perform nexus_private.revoke_session(session.id, 'expired');
    return nexus_private.session_refused('UNAUTHENTICATED', 'session_expired', 'Session Expired');
  end if;
  if token.rotated_at is not null and token.rotated_at < now() - make_interval(secs => reuse_seconds) then
    perform nexus_private.revoke_session(session.id, 'refresh_token_reused');
    return nexus_private.session_refused('UNAUTHENTICATED', 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
  end if;
  -- The session's row lock above makes its refreshes take turns: the count is exact without a lock of its own.
  wait := nexus_private.auth_limit_wait('session_refresh', session.id::text, max_refreshes, interval '1 hour', false);
  if wait is not null then
    return nexus_private.session_refused('RATE_LIMITED', 'over_request_rate_limit',
      format('too many refreshes of this session: at most %s an hour; try again in %s seconds', max_refreshes, wait), wait);
  end if;
  insert into nexus_private.auth_limit_events (kind, subject) values ('session_refresh', session.id::text);

  if token.rotated_at is null then
    update nexus_private.refresh_tokens t set rotated_at = now() where t.id = token.id;
  end if;
  update nexus_private.sessions s set refreshed_at = now() where s.id = session.id;
  result.user_id := session.user_id;
  result.session_id := session.id;
  result.refresh_token := nexus_private.issue_refresh_token(session.id, token.id, refresh_token);
  perform nexus_private.trim_refresh_tokens(session.id);
  return result;
end
$$;
grant execute on function auth.refresh_session(text) to anon, authenticated;

/* The session the caller's access JWT belongs to (its session_id claim), or null (also for a deleted member). */
create or replace function auth.session_id() returns uuid
language plpgsql stable parallel safe as $$
declare
  claimed text := auth.jwt() ->> 'session_id';
begin
  if auth.uid() is not null and nexus_private.as_uuid(claimed) is not null then
    return claimed::uuid;
  end if;
  return null;
end
$$;
grant execute on function auth.session_id() to anon, authenticated, service_role;

/*
 * Whether the caller's access JWT names a session that has ended (signed out, password changed, refresh token
 * reused, revoked by an operator): what /auth/v1/user answers as GoTrue's session_not_found, after which
 * supabase-js drops the session it holds. Such a token is anon everywhere (auth.claimed_sub()).
 */
create or replace function auth.session_ended() returns boolean
language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (select 1 from nexus_private.sessions s
                  where s.id = nexus_private.as_uuid(auth.jwt() ->> 'session_id') and s.revoked_at is not null)
$$;
grant execute on function auth.session_ended() to anon, authenticated;

/*
 * Sign out the signed-in member: `local` ends the session of the JWT in hand, `global` every session of theirs,
 * `others` every one but this. Only the member's own sessions; returns how many ended.
 */
create or replace function auth.sign_out(scope text default 'local') returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  member uuid := nexus_private.require_member('sign out');
  current_session uuid := auth.session_id();
  ended integer;
begin
  if scope is null or scope not in ('local', 'global', 'others') then
    perform nexus_private.fail('BAD_REQUEST', 'scope must be local, global or others');
  end if;
  update nexus_private.sessions s set revoked_at = now(), revoked_reason = 'sign_out_' || scope
   where s.user_id = member and s.revoked_at is null
     and case scope
           when 'local' then s.id = current_session
           when 'others' then s.id is distinct from current_session
           else true end;
  get diagnostics ended = row_count;
  return ended;
end
$$;
grant execute on function auth.sign_out(text) to authenticated;

/*
 * Change the signed-in member's password. Every other session of theirs ends (a password change is how a member
 * throws out whoever else holds their account); the session of the JWT in hand carries on. When the caller also
 * sends the current password it must match (GoTrue's secure password change), and guessing it counts as a wrong
 * sign-in for the account from the caller's address, under the same three limits as auth.sign_in
 * (nexus_private.sign_in_wait), so neither path gives more guesses; a refusal is returned as a row (not raised)
 * so the count is kept. At most nexus.auth_password_changes_per_hour changes (those refused for a wrong current
 * password included) per member an hour: each pays one or two bcrypts, so past that the change is RATE_LIMITED
 * before any is paid, until the oldest of the hour leaves the window; changes that passed that look together are
 * counted one at a time after bcrypt, so exactly the limit go through. A malformed new password is refused
 * uncounted. Returns the member and the session that carries on, or a refusal (error, reason, detail,
 * retry_after) as auth.sign_in does.
 */
do $$
begin
  -- Until 2026-12-02 it returned the number of sessions it ended; then it took no client address.
  if to_regprocedure('auth.change_password(text, text)') is not null then
    drop function auth.change_password(text, text);
  end if;
end
$$;
create or replace function auth.change_password(new_password text, current_password text default null, client_address text default null)
returns auth.session_outcome
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  member uuid := nexus_private.require_member('change your password');
  account_email text := (select lower(btrim(u.email)) from auth.users u where u.id = member);
  max_changes integer := nexus_private.rate_limit_setting('auth_password_changes_per_hour', 10);
  wait integer;
  attempt record;
  new_hash text;
  ended integer;
  result auth.session_outcome;
begin
  if new_password is null or length(new_password) < 8 or length(new_password) > 72 then
    perform nexus_private.fail('BAD_REQUEST', 'password must be 8 to 72 characters', 'weak_password');
  end if;
  -- AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT: then an access token alone (a copied one) cannot take the account.
  if current_password is null and coalesce(current_setting('nexus.auth_password_change_requires_current', true), '') = 'true' then
    perform nexus_private.fail('BAD_REQUEST', 'send the current password (current_password) to change it', 'current_password_required');
  end if;
  wait := nexus_private.auth_limit_wait('password_change', member::text, max_changes, interval '1 hour', false);
  if wait is null then
    if current_password is null then
      new_hash := crypt(new_password, gen_salt('bf', 10));
    else
      attempt := nexus_private.password_attempt(account_email, nexus_private.limit_address(client_address), current_password,
        (select u.password_hash from auth.users u where u.id = member));
      if attempt.wait is null and attempt.matched then
        new_hash := crypt(new_password, gen_salt('bf', 10));
      end if;
    end if;
    -- After the locks password_attempt took, and after bcrypt: see auth_limit_wait.
    wait := nexus_private.auth_limit_wait('password_change', member::text, max_changes, interval '1 hour');
  end if;
  if wait is not null then
    return nexus_private.session_refused('RATE_LIMITED', 'over_request_rate_limit',
      format('too many password changes for this account: at most %s an hour; try again in %s seconds', max_changes, wait), wait);
  end if;
  insert into nexus_private.auth_limit_events (kind, subject) values ('password_change', member::text);
  if current_password is not null then
    if attempt.wait is not null then
      return nexus_private.session_refused('RATE_LIMITED', 'over_request_rate_limit', attempt.detail, attempt.wait);
    end if;
    if not attempt.matched then
      return nexus_private.session_refused('UNAUTHENTICATED', 'invalid_credentials', 'the current password is wrong');
    end if;
  end if;
  update auth.users u set password_hash = new_hash where u.id = member;
  update nexus_private.sessions s set revoked_at = now(), revoked_reason = 'password_changed'
   where s.user_id = member and s.revoked_at is null and s.id is distinct from auth.session_id();
  get diagnostics ended = row_count;
  perform nexus_private.audit('member.password_changed', jsonb_build_object('member_id', member, 'sessions_ended', ended));
  result.user_id := member;
  result.session_id := auth.session_id();
  return result;
end
$$;
grant execute on function auth.change_password(text, text, text) to authenticated;

/*
 * PUT /auth/v1/user with both a new password and a new callsign: all or nothing. The change (auth.change_password,
 * with its limits) and the rename run in one subtransaction; a rename refused as taken (unique_violation) undoes
 * both and answers CONFLICT as a row (a callsign its check refuses, BAD_REQUEST), and the password change it paid
 * bcrypt for still counts against
 * nexus.auth_password_changes_per_hour, so a taken callsign cannot make bcrypt free of the limit. A refusal of the
 * change itself (wrong current password, a limit) is a row that renames nothing. Security invoker: the rename is
 * the caller's own update of their profile, under its policy and column grant.
 */
create or replace function auth.change_password_and_callsign(new_password text, current_password text, client_address text, new_callsign text)
returns auth.session_outcome
language plpgsql volatile set search_path = pg_catalog, public as $$
declare
  result auth.session_outcome;
  broken text;
begin
  begin
    result := auth.change_password(new_password, current_password, client_address);
    if result.error is null then
      update public.profiles set callsign = new_callsign where id = auth.uid();
    end if;
  exception
    when unique_violation then
      perform nexus_private.count_password_change();
      return nexus_private.session_refused('CONFLICT', 'conflict', format('callsign %s is taken', new_callsign));
    when check_violation then
      -- The check's name, never its DETAIL (the whole row), as core/errors.ts words any other CHECK refusal.
      get stacked diagnostics broken = constraint_name;
      perform nexus_private.count_password_change();
      return nexus_private.session_refused('BAD_REQUEST', 'validation_failed', format('the request is not valid: a value breaks the check %s', broken));
  end;
  return result;
end
$$;
grant execute on function auth.change_password_and_callsign(text, text, text, text) to authenticated;

/* One password change counted for the caller (their own limit only): what a rolled-back change still costs. */
create or replace function nexus_private.count_password_change() returns void
language sql volatile security definer set search_path = pg_catalog, public as $$
  insert into nexus_private.auth_limit_events (kind, subject)
  select 'password_change', p.id::text from public.profiles p where p.id = auth.uid()
$$;
revoke execute on function nexus_private.count_password_change() from public;
grant execute on function nexus_private.count_password_change() to authenticated;

/* The signed-in member as GoTrue's /user shows them: id, e-mail, callsign, rank, created_at. */
create or replace function auth.current_user_account() returns table (id uuid, email text, callsign text, rank public.rank, created_at timestamptz)
language sql stable security definer set search_path = pg_catalog, public as $$
  select u.id, u.email, p.callsign, p.rank, u.created_at
    from auth.users u join public.profiles p on p.id = u.id
   where u.id = auth.uid()
$$;
grant execute on function auth.current_user_account() to authenticated;

/* Operators (`npm run nexus -- user revoke --email E`): end every session of a member; audited. */
create or replace function nexus_private.revoke_member_sessions(email text) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  member uuid;
  ended integer;
begin
  if not auth.is_service() then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'only operators revoke a member''s sessions');
  end if;
  select u.id into member from auth.users u where lower(u.email) = lower(btrim(revoke_member_sessions.email));
  if member is null then
    perform nexus_private.fail('NOT_FOUND', 'no account with this email');
  end if;
  update nexus_private.sessions s set revoked_at = now(), revoked_reason = 'operator'
   where s.user_id = member and s.revoked_at is null;
  get diagnostics ended = row_count;
  perform nexus_private.audit('member.sessions_revoked', jsonb_build_object('member_id', member, 'sessions_ended', ended));
  return ended;
end
$$;
grant execute on function nexus_private.revoke_member_sessions(text) to service_role;

/*
 * The worker's sweep (sessions__prune, hourly): drop limit rows past their window, sessions ended or idle for longer
 * than the idle limit, and rotated refresh tokens past each session's nexus.refresh_tokens_kept newest (refreshes
 * trim their own session; this catches chains grown before they did), so these tables hold what is still in force.
 */
create or replace function nexus_private.prune_sign_in_state() returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  idle_days integer := nexus_private.rate_limit_setting('session_idle_days', 30);
  kept integer := nexus_private.rate_limit_setting('refresh_tokens_kept', 10);
  retention integer := nexus_private.rate_limit_setting('refresh_token_retention_days', 7);
  removed integer;
  total integer := 0;
begin
  delete from nexus_private.auth_limit_events
   where happened_at < now() - case kind when 'sign_up' then interval '1 hour' when 'password_change' then interval '1 hour'
                                         when 'session_refresh' then interval '1 hour'
                                         when 'sign_in_attempt' then interval '5 minutes' else interval '15 minutes' end;
  get diagnostics removed = row_count;
  total := total + removed;
  delete from nexus_private.sessions
   where coalesce(revoked_at, refreshed_at) < now() - make_interval(days => idle_days);
  get diagnostics removed = row_count;
  total := total + removed;
  delete from nexus_private.refresh_tokens t
   using (select r.id, row_number() over (partition by r.session_id order by r.id desc) as newest
            from nexus_private.refresh_tokens r where r.rotated_at is not null) ranked
   where t.id = ranked.id and ranked.newest > kept and t.rotated_at < now() - make_interval(days => retention);
  get diagnostics removed = row_count;
  return total + removed;
end
$$;
grant execute on function nexus_private.prune_sign_in_state() to service_role;

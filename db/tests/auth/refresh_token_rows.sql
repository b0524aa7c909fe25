begin;
select plan(24);

-- A session's refresh token rows are bounded (auth.refresh_session, nexus_private.trim_refresh_tokens,
-- prune_sign_in_state): at most nexus.session_refreshes_per_hour refreshes an hour, rotated tokens kept for
-- nexus.refresh_token_retention_days (the 10 newest longer). Reuse of a rotated token, after the reuse window, still
-- revokes the session, however fast someone else refreshed the session meanwhile.

create temp table got (name text primary key, o auth.session_outcome) on commit drop;
create temp table chain (session uuid, step integer, token text, primary key (session, step)) on commit drop;
grant all on got, chain to public;
-- Refresh `times` times in a row from the session's newest token in `chain`, keeping every token handed out.
create function pg_temp.refresh_loop(session uuid, times integer) returns void language plpgsql as $$
declare
  last record;
  answer auth.session_outcome;
begin
  for i in 1..times loop
    select c.step, c.token into last from chain c where c.session = refresh_loop.session order by c.step desc limit 1;
    answer := auth.refresh_session(last.token);
    if answer.error is not null then
      raise exception 'refresh % refused: %', i, answer.reason;
    end if;
    insert into chain values (session, last.step + 1, answer.refresh_token);
  end loop;
end $$;
create function pg_temp.tok(s uuid, n integer) returns text language sql as $$ select token from chain where session = s and step = n $$;
create function pg_temp.rows_of(s uuid) returns integer language sql security definer as $$
  select count(*)::integer from nexus_private.refresh_tokens where session_id = s
$$;
create function pg_temp.revoked(s uuid) returns text language sql security definer as $$
  select revoked_reason from nexus_private.sessions where id = s
$$;
-- Every rotated token of the session as if rotated `ago`: 11 seconds is past the reuse window, 8 days past retention.
create function pg_temp.age(s uuid, ago interval default interval '11 seconds') returns void language sql security definer as $$
  update nexus_private.refresh_tokens set rotated_at = now() - ago where session_id = s and rotated_at is not null
$$;
grant execute on all functions in schema pg_temp to public;

select tests.clear_authentication();
select isnt((auth.register('loop@example.org', 'loop-password', 'Looper', null, '10.4.0.1')).session_id, null, 'an account');
insert into got select 'a', auth.sign_in('loop@example.org', 'loop-password', null, '10.4.0.1');
insert into got select 'b', auth.sign_in('loop@example.org', 'loop-password', null, '10.4.0.1');
insert into got select 'c', auth.sign_in('loop@example.org', 'loop-password', null, '10.4.0.1');
insert into chain select (o).session_id, 0, (o).refresh_token from got;
create function pg_temp.s(n text) returns uuid language sql as $$ select (o).session_id from got where name = n $$;
grant execute on function pg_temp.s(text) to public;

-- A thief who shares the live token cannot push its twin out by refreshing fast (review 7) ------------------------
select set_config('nexus.session_refreshes_per_hour', '1000', true);
select pg_temp.refresh_loop(pg_temp.s('c'), 11);
select pg_temp.age(pg_temp.s('c'));
insert into got select 'c-owner', auth.refresh_session(pg_temp.tok(pg_temp.s('c'), 0));
select is((select (o).reason from got where name = 'c-owner'), 'refresh_token_already_used',
  'eleven quick refreshes later, the owner''s copy of the first token is still known, and taken for a stolen one''s twin');
select is(pg_temp.revoked(pg_temp.s('c')), 'refresh_token_reused', 'so the session is revoked, the thief''s newest token with it');

-- Rows: kept for the retention, then trimmed to the 10 newest rotated --------------------------------------------------
select pg_temp.refresh_loop(pg_temp.s('a'), 200);
select is(pg_temp.rows_of(pg_temp.s('a')), 201, '200 refreshes within the retention keep every rotated token');
select pg_temp.age(pg_temp.s('a'), interval '8 days');
select pg_temp.refresh_loop(pg_temp.s('a'), 1);
select is(pg_temp.rows_of(pg_temp.s('a')), 11,
  'once past nexus.refresh_token_retention_days, the next refresh keeps the live token and the 10 newest rotated');
select pg_temp.refresh_loop(pg_temp.s('a'), 1);
select isnt(pg_temp.tok(pg_temp.s('a'), 202), null, 'the newest token still refreshes: trimming its ancestors took nothing down the chain');
select is((auth.refresh_session(pg_temp.tok(pg_temp.s('a'), 201))).refresh_token, pg_temp.tok(pg_temp.s('a'), 202),
  'a token rotated a moment ago still answers with the head (two tabs)');
insert into got select 'a-ancient', auth.refresh_session(pg_temp.tok(pg_temp.s('a'), 100));
select is((select (o).reason from got where name = 'a-ancient'), 'refresh_token_not_found', 'a token trimmed away is unknown');
select is((select (o).session_id from got where name = 'a-ancient'), null, 'and opens nothing');
select is(pg_temp.revoked(pg_temp.s('a')), null, 'it does not revoke the session (documented)');
insert into got select 'a-kept', auth.refresh_session(pg_temp.tok(pg_temp.s('a'), 195));
select is((select (o).reason from got where name = 'a-kept'), 'refresh_token_already_used', 'one of the 10 newest rotated still does');
select is(pg_temp.revoked(pg_temp.s('a')), 'refresh_token_reused', 'revoking the session');

-- The refreshes of one session an hour -------------------------------------------------------------------------------
select set_config('nexus.session_refreshes_per_hour', '5', true);
select pg_temp.refresh_loop(pg_temp.s('b'), 5);
insert into got select 'b-sixth', auth.refresh_session(pg_temp.tok(pg_temp.s('b'), 5));
select is((select (o).error from got where name = 'b-sixth'), 'RATE_LIMITED', 'past nexus.session_refreshes_per_hour a refresh is RATE_LIMITED');
select matches((select (o).detail from got where name = 'b-sixth'), '^too many refreshes of this session: at most 5 an hour; try again in [0-9]+ seconds$',
  'saying so');
select ok((select (o).retry_after from got where name = 'b-sixth') between 1 and 3600, 'and when to try again');
select is((select (o).refresh_token from got where name = 'b-sixth'), null, 'and hands out no token');
select is((auth.refresh_session(pg_temp.tok(pg_temp.s('b'), 5))).error, 'RATE_LIMITED', 'the live token stays live for later');
select pg_temp.age(pg_temp.s('b'));
insert into got select 'b-reused', auth.refresh_session(pg_temp.tok(pg_temp.s('b'), 2));
select is((select (o).reason from got where name = 'b-reused'), 'refresh_token_already_used', 'a reuse is recognised past the limit too');
select is(pg_temp.revoked(pg_temp.s('b')), 'refresh_token_reused', 'and revokes the session');
select set_config('nexus.session_refreshes_per_hour', '', true);

-- The sweep trims chains grown before refreshes trimmed them, once past the retention ----------------------------------
reset role;
insert into got select 'legacy', nexus_private.open_session((select id from auth.users where email = 'loop@example.org'), null, null);
insert into got select 'recent', nexus_private.open_session((select id from auth.users where email = 'loop@example.org'), null, null);
update nexus_private.refresh_tokens set rotated_at = now() - interval '8 days' where session_id = pg_temp.s('legacy');
insert into nexus_private.refresh_tokens (session_id, token_hash, rotated_at)
  select pg_temp.s(kind), sha256(convert_to(kind || '-' || n, 'UTF8')), case kind when 'legacy' then now() - interval '8 days' else now() - interval '1 day' end
    from generate_series(1, 40) n, unnest(array['legacy', 'recent']) kind;
insert into nexus_private.refresh_tokens (session_id, token_hash)
  values (pg_temp.s('legacy'), sha256(convert_to('legacy-head', 'UTF8')));
select is(pg_temp.rows_of(pg_temp.s('legacy')), 42, 'a session with 41 rotated tokens from before');
select tests.authenticate_as_service();
select ok(nexus_private.prune_sign_in_state() >= 31, 'the sweep runs');
reset role;
select is(pg_temp.rows_of(pg_temp.s('legacy')), 11, 'and keeps its head and its 10 newest rotated');
select is(pg_temp.rows_of(pg_temp.s('recent')), 41, 'a chain within the retention is left whole');

-- The trim is no API role's to call ------------------------------------------------------------------------------------
select tests.authenticate_as((select id from auth.users where email = 'loop@example.org'));
select throws_ok($$ select nexus_private.trim_refresh_tokens(gen_random_uuid()) $$, '42501', null, 'a member cannot call the trim');

select * from finish();
rollback;

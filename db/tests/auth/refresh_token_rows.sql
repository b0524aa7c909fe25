begin;
select plan(20);

-- A session refreshed in a loop keeps a bounded number of refresh token rows (auth.refresh_session,
-- nexus_private.trim_refresh_tokens, prune_sign_in_state), and reuse of a rotated token it still keeps, after the
-- reuse window, still revokes the session.

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
-- Every rotated token of the session as if rotated 11 seconds ago: past the reuse window.
create function pg_temp.age(s uuid) returns void language sql security definer as $$
  update nexus_private.refresh_tokens set rotated_at = now() - interval '11 seconds' where session_id = s and rotated_at is not null
$$;
grant execute on all functions in schema pg_temp to public;

select tests.clear_authentication();
select isnt((auth.register('loop@example.org', 'loop-password', 'Looper', null, '10.4.0.1')).session_id, null, 'an account');
insert into got select 'a', auth.sign_in('loop@example.org', 'loop-password', null, '10.4.0.1');
insert into got select 'b', auth.sign_in('loop@example.org', 'loop-password', null, '10.4.0.1');
insert into chain select (o).session_id, 0, (o).refresh_token from got;

-- Rows stay bounded ----------------------------------------------------------------------------------------------
select pg_temp.refresh_loop((select (o).session_id from got where name = 'a'), 200);
select is(pg_temp.rows_of((select (o).session_id from got where name = 'a')), 11,
  '200 refreshes of one session keep 11 refresh token rows: the live one and the 10 newest rotated (nexus.refresh_tokens_kept)');
select is((auth.refresh_session(pg_temp.tok((select (o).session_id from got where name = 'a'), 200))).session_id,
  (select (o).session_id from got where name = 'a'), 'the newest token still refreshes: trimming its ancestors took nothing down the chain');
select is(pg_temp.rows_of((select (o).session_id from got where name = 'a')), 11, 'and the count stays there');
select set_config('nexus.refresh_tokens_kept', '3', true);
select pg_temp.refresh_loop((select (o).session_id from got where name = 'b'), 20);
select is(pg_temp.rows_of((select (o).session_id from got where name = 'b')), 4, 'nexus.refresh_tokens_kept sets how many');

-- Within the reuse window, a just-rotated token still answers with the chain's head ------------------------------
select is((auth.refresh_session(pg_temp.tok((select (o).session_id from got where name = 'b'), 19))).refresh_token,
  pg_temp.tok((select (o).session_id from got where name = 'b'), 20), 'a token rotated a moment ago still answers with the head (two tabs)');
select is(pg_temp.rows_of((select (o).session_id from got where name = 'b')), 4, 'without a row more');

-- Reuse of a kept token after the window revokes the session -------------------------------------------------------
select pg_temp.age((select (o).session_id from got where name = 'b'));
insert into got select 'b-reused', auth.refresh_session(pg_temp.tok((select (o).session_id from got where name = 'b'), 17));
select is((select (o).reason from got where name = 'b-reused'), 'refresh_token_already_used',
  'a token three rotations old, presented after the window, is taken for a stolen copy');
select is(pg_temp.revoked((select (o).session_id from got where name = 'b')), 'refresh_token_reused', 'and the session is revoked');
select is((auth.refresh_session(pg_temp.tok((select (o).session_id from got where name = 'b'), 20))).error, 'UNAUTHENTICATED',
  'its newest token is refused after that');

-- A token older than the kept ones is unknown: it refreshes nothing, and no longer revokes ---------------------------
select set_config('nexus.refresh_tokens_kept', '', true);
select pg_temp.age((select (o).session_id from got where name = 'a'));
insert into got select 'a-ancient', auth.refresh_session(pg_temp.tok((select (o).session_id from got where name = 'a'), 100));
select is((select (o).reason from got where name = 'a-ancient'), 'refresh_token_not_found', 'a token 100 rotations old is unknown');
select is((select (o).session_id from got where name = 'a-ancient'), null, 'and opens nothing');
select is(pg_temp.revoked((select (o).session_id from got where name = 'a')), null, 'it does not revoke the session (documented)');
insert into got select 'a-kept', auth.refresh_session(pg_temp.tok((select (o).session_id from got where name = 'a'), 195));
select is((select (o).reason from got where name = 'a-kept'), 'refresh_token_already_used', 'one of the 10 newest rotated still does');
select is(pg_temp.revoked((select (o).session_id from got where name = 'a')), 'refresh_token_reused', 'revoking the session');

-- The sweep trims chains grown before refreshes trimmed them ---------------------------------------------------------
reset role;
insert into got select 'legacy', nexus_private.open_session((select id from auth.users where email = 'loop@example.org'), null, null);
update nexus_private.refresh_tokens set rotated_at = now() - interval '1 day' where session_id = (select (o).session_id from got where name = 'legacy');
insert into nexus_private.refresh_tokens (session_id, token_hash, rotated_at)
  select (select (o).session_id from got where name = 'legacy'), sha256(convert_to('legacy-' || n, 'UTF8')), now() - interval '1 day'
    from generate_series(1, 40) n;
insert into nexus_private.refresh_tokens (session_id, token_hash)
  values ((select (o).session_id from got where name = 'legacy'), sha256(convert_to('legacy-head', 'UTF8')));
select is(pg_temp.rows_of((select (o).session_id from got where name = 'legacy')), 42, 'a session with 41 rotated tokens from before');
select tests.authenticate_as_service();
select ok(nexus_private.prune_sign_in_state() >= 31, 'the sweep runs');
reset role;
select is(pg_temp.rows_of((select (o).session_id from got where name = 'legacy')), 11, 'and keeps its head and its 10 newest rotated');
select is((select count(*)::int from nexus_private.refresh_tokens where token_hash = sha256(convert_to('legacy-head', 'UTF8'))), 1, 'the head among them');

-- The trim is no API role's to call ------------------------------------------------------------------------------------
select tests.authenticate_as((select id from auth.users where email = 'loop@example.org'));
select throws_ok($$ select nexus_private.trim_refresh_tokens(gen_random_uuid()) $$, '42501', null, 'a member cannot call the trim');

select * from finish();
rollback;

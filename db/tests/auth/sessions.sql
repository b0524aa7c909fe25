begin;
select plan(88);

-- Outcomes kept by name so later steps can present the tokens they handed out.
create temp table got (name text primary key, o auth.session_outcome) on commit drop;
grant all on got to public;
create function pg_temp.tok(n text) returns text language sql as $$ select (o).refresh_token from got where name = n $$;
create function pg_temp.sid(n text) returns uuid language sql as $$ select (o).session_id from got where name = n $$;
create function pg_temp.as_session(member uuid, session uuid) returns void language plpgsql as $$
begin
  perform set_config('request.jwt.claims',
    json_build_object('sub', member, 'role', 'authenticated', 'session_id', session)::text, true);
  perform set_config('role', 'authenticated', true);
end $$;
grant execute on function pg_temp.tok(text), pg_temp.sid(text), pg_temp.as_session(uuid, uuid) to public;

-- Sign-up opens a session; only the refresh token's hash is stored --------------------------------------------
select tests.clear_authentication();
insert into got select 'signup', auth.register('ada@example.org', 'first-password', 'Ada', 'vitest', '10.0.0.1');
reset role;
create temp table ada on commit drop as select id from auth.users where email = 'ada@example.org';
grant select on ada to public;
select isnt(pg_temp.sid('signup'), null, 'sign-up opens a session');
select ok(length(pg_temp.tok('signup')) >= 40, 'sign-up hands out an opaque refresh token');
select is((select count(*)::int from nexus_private.refresh_tokens where token_hash = sha256(convert_to(pg_temp.tok('signup'), 'UTF8'))), 1,
  'the refresh token is stored as its SHA-256');
select is((select count(*)::int from nexus_private.refresh_tokens t join nexus_private.sessions s on s.id = t.session_id
            where position(pg_temp.tok('signup') in row(t.*)::text || row(s.*)::text) > 0), 0,
  'the refresh token itself is stored nowhere');

-- The private tables are no API role's to read ---------------------------------------------------------------
select tests.authenticate_as((select id from ada));
select throws_ok($$ select * from nexus_private.sessions $$, '42501', null, 'a member cannot read the sessions table');
select throws_ok($$ select * from nexus_private.refresh_tokens $$, '42501', null, 'a member cannot read refresh token hashes');
select tests.clear_authentication();
select throws_ok($$ select * from nexus_private.sessions $$, '42501', null, 'anon cannot read the sessions table');
select throws_ok($$ select * from nexus_private.auth_limit_events $$, '42501', null, 'anon cannot read the failed-login counts');

-- Sign-in ---------------------------------------------------------------------------------------------------
insert into got select 'ok', auth.sign_in('ADA@example.org', 'first-password');
select is((select (o).user_id from got where name = 'ok'), (select id from ada), 'the right password opens a session, whatever the email''s case');
insert into got select 'wrong', auth.sign_in('ada@example.org', 'not-the-password');
select is((select (o).error from got where name = 'wrong'), 'UNAUTHENTICATED', 'a wrong password is refused');
select is((select (o).session_id from got where name = 'wrong'), null, 'a wrong password opens no session');
reset role;
select is((select count(*)::int from nexus_private.auth_limit_events where kind = 'sign_in_failure' and subject = 'ada@example.org'), 1,
  'a wrong password is counted (the refusal is a row, so the count is kept)');

-- The failed-login limit ------------------------------------------------------------------------------------
select set_config('nexus.auth_max_failed_logins', '3', true);
select tests.clear_authentication();
select (auth.sign_in('ada@example.org', 'guess-two')).error;
select (auth.sign_in('ada@example.org', 'guess-three')).error;
insert into got select 'limited', auth.sign_in('ada@example.org', 'first-password');
select is((select (o).error from got where name = 'limited'), 'RATE_LIMITED',
  'after AUTH_MAX_FAILED_LOGINS wrong passwords even the right one is RATE_LIMITED');
select ok((select (o).retry_after from got where name = 'limited') between 1 and 900, 'a limited sign-in says how long to wait');
select is((select (o).session_id from got where name = 'limited'), null, 'a limited sign-in opens no session');
select is((auth.sign_in('nobody@example.org', 'x')).error, 'UNAUTHENTICATED', 'another account is not limited by these failures');
reset role;
update nexus_private.auth_limit_events set happened_at = now() - interval '16 minutes' where subject = 'ada@example.org';
select tests.clear_authentication();
select isnt((auth.sign_in('ada@example.org', 'first-password')).session_id, null, 'failures older than 15 minutes no longer count');
reset role;
select is((select count(*)::int from nexus_private.auth_limit_events where kind = 'sign_in_failure' and subject = 'ada@example.org'), 0,
  'the right password clears the count');
select set_config('nexus.auth_max_failed_logins', '', true);

-- Refresh: rotation, the reuse window, reuse after it -----------------------------------------------------------
select tests.clear_authentication();
insert into got select 'r1', auth.refresh_session(pg_temp.tok('ok'));
select is(pg_temp.sid('r1'), pg_temp.sid('ok'), 'a refresh keeps the session');
select isnt(pg_temp.tok('r1'), pg_temp.tok('ok'), 'a refresh hands out a new refresh token');
insert into got select 'r1-again', auth.refresh_session(pg_temp.tok('ok'));
select is(pg_temp.sid('r1-again'), pg_temp.sid('ok'), 'the previous token still works within the reuse window (two tabs)');
select is(pg_temp.tok('r1-again'), pg_temp.tok('r1'), 'and answers with the token it was already exchanged for: no second chain');
insert into got select 'r2', auth.refresh_session(pg_temp.tok('r1'));
insert into got select 'r1-third', auth.refresh_session(pg_temp.tok('ok'));
select is(pg_temp.tok('r1-third'), pg_temp.tok('r2'),
  'once that successor was itself exchanged, with the chain''s newest token (not one already used)');
select is((auth.refresh_session(pg_temp.tok('r1'))).refresh_token, pg_temp.tok('r2'),
  'every path leads to the one head of the chain');
reset role;
select is((select count(*)::int from nexus_private.refresh_tokens t where t.session_id = pg_temp.sid('ok')), 3,
  'three tokens in all for two distinct exchanges and a first, however often each was presented');
select throws_ok($$ set local role authenticated; select refresh_secret from nexus_private.sessions $$, '42501', null,
  'no API role reads the secret successors are derived from');
reset role;
update nexus_private.refresh_tokens set rotated_at = now() - interval '11 seconds'
 where token_hash = sha256(convert_to(pg_temp.tok('ok'), 'UTF8'));
select tests.clear_authentication();
insert into got select 'reused', auth.refresh_session(pg_temp.tok('ok'));
select is((select (o).reason from got where name = 'reused'), 'refresh_token_already_used',
  'a rotated token presented after the reuse window is refused');
reset role;
select is((select revoked_reason from nexus_private.sessions where id = pg_temp.sid('ok')), 'refresh_token_reused',
  'reuse after the window revokes the whole session');
select tests.clear_authentication();
select is((auth.refresh_session(pg_temp.tok('r1'))).error, 'UNAUTHENTICATED',
  'after a reuse even the newest token of that session is refused');
select is((auth.refresh_session('not-a-token-we-ever-issued')).reason, 'refresh_token_not_found', 'an unknown token is refused');
select is((auth.refresh_session(null)).error, 'UNAUTHENTICATED', 'no token is refused');
select is((auth.refresh_session(pg_temp.tok('signup'))).session_id, pg_temp.sid('signup'), 'another session of the member is untouched');

-- An expired (idle) session ---------------------------------------------------------------------------------
insert into got select 'idle', auth.sign_in('ada@example.org', 'first-password');
reset role;
update nexus_private.sessions set refreshed_at = now() - interval '31 days' where id = pg_temp.sid('idle');
select tests.clear_authentication();
select is((auth.refresh_session(pg_temp.tok('idle'))).reason, 'session_expired', 'a session idle for longer than 30 days is refused');
reset role;
select is((select revoked_reason from nexus_private.sessions where id = pg_temp.sid('idle')), 'expired', 'and it is ended');

-- Sign-out ----------------------------------------------------------------------------------------------------
select tests.clear_authentication();
select throws_ok($$ select auth.sign_out('local') $$, '42501', null, 'anon cannot sign out');
reset role;
select tests.create_user('Bea');
create temp table bea on commit drop as select id from auth.users where email = 'bea@tests.invalid';
grant select on bea to public;
insert into got select 'bea', nexus_private.open_session((select id from bea), null, null);
insert into got select 'ada-a', nexus_private.open_session((select id from ada), null, null);
insert into got select 'ada-b', nexus_private.open_session((select id from ada), null, null);
insert into got select 'ada-c', nexus_private.open_session((select id from ada), null, null);

select pg_temp.as_session((select id from ada), pg_temp.sid('bea'));
select is(auth.sign_out('local'), 0, 'a JWT naming another member''s session signs nothing out');
reset role;
select is((select revoked_at from nexus_private.sessions where id = pg_temp.sid('bea')), null, 'another member''s session stays');
select pg_temp.as_session((select id from ada), pg_temp.sid('ada-a'));
select throws_ok($$ select auth.sign_out('everything') $$, 'NX400', 'BAD_REQUEST', 'an unknown scope is refused');
select is(auth.sign_out('local'), 1, 'scope local ends the session of the JWT in hand');
select tests.clear_authentication();
select is((auth.refresh_session(pg_temp.tok('ada-a'))).error, 'UNAUTHENTICATED', 'a signed-out session cannot refresh');
select pg_temp.as_session((select id from ada), pg_temp.sid('ada-a'));
select is(auth.uid(), null, 'the access token of a signed-out session is anon at once, not at its exp');
select is(auth.rank(), null, 'and has no rank');
select ok(auth.session_ended(), 'auth.session_ended() says so (/auth/v1/user answers session_not_found)');
select throws_ok($$ select auth.change_password('taken-over-1') $$, 'NX401', 'UNAUTHENTICATED', 'it cannot change the password');
select throws_ok($$ select * from public.issue_voice_grants(array['any-net']) $$, 'NX401', 'UNAUTHENTICATED', 'nor get a voice token');
select pg_temp.as_session((select id from ada), pg_temp.sid('ada-b'));
select ok(not auth.session_ended(), 'a live session has not ended');
select is(auth.uid(), (select id from ada), 'and its token names its member');
select pg_temp.as_session((select id from ada), pg_temp.sid('ada-b'));
select ok(auth.sign_out('others') >= 2, 'scope others ends the member''s other sessions');
reset role;
select is((select revoked_at from nexus_private.sessions where id = pg_temp.sid('ada-b')), null, 'scope others keeps this session');
select is((select revoked_at from nexus_private.sessions where id = pg_temp.sid('bea')), null, 'and never touches another member''s');
select pg_temp.as_session((select id from ada), pg_temp.sid('ada-b'));
select is(auth.sign_out('global'), 1, 'scope global ends every remaining session of the member');
reset role;
select is((select revoked_at from nexus_private.sessions where id = pg_temp.sid('bea')), null, 'still none of another member''s');

-- Password change ---------------------------------------------------------------------------------------------
insert into got select 'pw-keep', nexus_private.open_session((select id from ada), null, null);
insert into got select 'pw-other', nexus_private.open_session((select id from ada), null, null);
select tests.clear_authentication();
select throws_ok($$ select auth.change_password('new-password-1') $$, '42501', null, 'anon cannot change a password');
select pg_temp.as_session((select id from ada), pg_temp.sid('pw-keep'));
select throws_ok($$ select auth.change_password('short') $$, 'NX400', 'BAD_REQUEST', 'a short new password is refused');
insert into got select 'pw-wrong', auth.change_password('new-password-1', 'wrong-current');
select is((select (o).error from got where name = 'pw-wrong'), 'UNAUTHENTICATED', 'a wrong current password, when given, is refused');
select is((select (o).reason from got where name = 'pw-wrong'), 'invalid_credentials', 'as a wrong sign-in is');
reset role;
select is((select count(*)::int from nexus_private.auth_limit_events where kind = 'sign_in_failure' and subject = 'ada@example.org'), 1,
  'and counted with the account''s wrong sign-ins (the refusal is a row, so the count is kept)');
select set_config('nexus.auth_max_failed_logins', '2', true);
select pg_temp.as_session((select id from ada), pg_temp.sid('pw-keep'));
select is((auth.change_password('new-password-1', 'wrong-again')).error, 'UNAUTHENTICATED', 'a second wrong guess');
insert into got select 'pw-limited', auth.change_password('new-password-1', 'first-password');
select is((select (o).error from got where name = 'pw-limited'), 'RATE_LIMITED',
  'past AUTH_MAX_FAILED_LOGINS even the right current password is RATE_LIMITED: no guessing oracle');
select ok((select (o).retry_after from got where name = 'pw-limited') between 1 and 900, 'and says how long to wait');
select tests.clear_authentication();
select is((auth.sign_in('ada@example.org', 'first-password')).error, 'RATE_LIMITED', 'the guesses count against sign-in too');
reset role;
select is((select count(*)::int from auth.users where email = 'ada@example.org' and password_hash = crypt('first-password', password_hash)), 1,
  'no refused change touched the password');
delete from nexus_private.auth_limit_events where subject = 'ada@example.org';
select set_config('nexus.auth_max_failed_logins', '', true);
select set_config('nexus.auth_password_change_requires_current', 'true', true);
select pg_temp.as_session((select id from ada), pg_temp.sid('pw-keep'));
select throws_ok($$ select auth.change_password('taken-over-password') $$, 'NX400', 'BAD_REQUEST',
  'with AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT an access token alone cannot change the password');
select set_config('nexus.auth_password_change_requires_current', '', true);
select pg_temp.as_session((select id from ada), pg_temp.sid('pw-keep'));
select is((auth.change_password('new-password-1', 'first-password')).session_id, pg_temp.sid('pw-keep'),
  'the right current password changes it; the session in hand carries on');
reset role;
select is((select revoked_reason from nexus_private.sessions where id = pg_temp.sid('pw-other')), 'password_changed',
  'a password change ends the member''s other sessions');
select tests.clear_authentication();
select is((auth.refresh_session(pg_temp.tok('pw-other'))).error, 'UNAUTHENTICATED', 'the other session cannot refresh');
select is((auth.refresh_session(pg_temp.tok('pw-keep'))).session_id, pg_temp.sid('pw-keep'), 'the session that changed it carries on');
select is((auth.refresh_session(pg_temp.tok('bea'))).session_id, pg_temp.sid('bea'), 'another member''s session carries on');
select isnt((auth.sign_in('ada@example.org', 'new-password-1')).session_id, null, 'the new password signs in');

-- Operators revoke a member's sessions ------------------------------------------------------------------------
select tests.authenticate_as((select id from bea));
select throws_ok($$ select nexus_private.revoke_member_sessions('ada@example.org') $$, '42501', null,
  'a member cannot revoke another member''s sessions');
select tests.authenticate_as_service();
select ok(nexus_private.revoke_member_sessions('ADA@example.org') >= 1, 'an operator ends every session of a member');
select throws_ok($$ select nexus_private.revoke_member_sessions('nobody@example.org') $$, 'NX404', 'NOT_FOUND', 'an unknown account is NOT_FOUND');

-- The sign-up limit per client address -------------------------------------------------------------------------
select set_config('nexus.auth_signups_per_hour', '2', true);
select tests.clear_authentication();
select isnt((auth.register('c1@example.org', 'password-c1', 'Cee1', null, '10.0.0.9')).user_id, null, 'a first sign-up from an address');
select isnt((auth.register('c2@example.org', 'password-c2', 'Cee2', null, '10.0.0.9')).user_id, null, 'a second one');
select throws_ok($$ select auth.register('c3@example.org', 'password-c3', 'Cee3', null, '10.0.0.9') $$, 'NX429', 'RATE_LIMITED',
  'past AUTH_SIGNUPS_PER_HOUR an address is RATE_LIMITED');
select isnt((auth.register('c4@example.org', 'password-c4', 'Cee4', null, '10.0.0.10')).user_id, null, 'another address may still sign up');
select isnt((auth.register('c5@example.org', 'password-c5', 'Cee5')).user_id, null, 'a sign-up without an address');
select isnt((auth.register('c6@example.org', 'password-c6', 'Cee6', null, '')).user_id, null, 'another, with an empty one');
select throws_ok($$ select auth.register('c7@example.org', 'password-c7', 'Cee7') $$, 'NX429', 'RATE_LIMITED',
  'sign-ups without an address share one bucket, so the limit never falls away');
select set_config('nexus.auth_signups_per_hour', '', true);

-- Old Supabase password hashes (GoTrue wrote $2a$; other bcrypt libraries $2b$) ---------------------------------
reset role;
select ok(nexus_private.password_matches('old-password', crypt('old-password', gen_salt('bf', 4))), 'a $2a$ hash made by pgcrypto matches');
select ok(nexus_private.password_matches('old-password', '$2b$' || substr(crypt('old-password', gen_salt('bf', 4)), 5)), 'a $2b$ hash matches');

-- As the API server logs in: nexus_authenticator (NOINHERIT), switched to the request's role ------------------
reset role;
select set_config('request.jwt.claims', '', true);
set local role nexus_authenticator;
set local role anon;
select isnt((auth.register('least@example.org', 'least-password', 'Least', null, '10.9.9.9')).session_id, null,
  'sign-up works for anon switched to from nexus_authenticator');
insert into got select 'least', auth.sign_in('least@example.org', 'least-password');
select isnt(pg_temp.sid('least'), null, 'so does sign-in');
select isnt((auth.refresh_session(pg_temp.tok('least'))).session_id, null, 'and refresh');

-- The hourly sweep ----------------------------------------------------------------------------------------------
select tests.authenticate_as((select id from bea));
select throws_ok($$ select nexus_private.prune_sign_in_state() $$, '42501', null, 'a member cannot run the sweep');
reset role;
insert into nexus_private.auth_limit_events (kind, subject, happened_at) values ('sign_in_failure', 'old@example.org', now() - interval '20 minutes');
update nexus_private.sessions set revoked_at = now() - interval '40 days', revoked_reason = 'operator' where id = pg_temp.sid('bea');
select tests.authenticate_as_service();
select ok(nexus_private.prune_sign_in_state() >= 2, 'the sweep removes failures past their window and long-ended sessions');
reset role;
select is((select count(*)::int from nexus_private.auth_limit_events where subject = 'old@example.org'), 0, 'the old failure is gone');
select is((select count(*)::int from nexus_private.sessions where id = pg_temp.sid('bea')), 0, 'the long-ended session is gone');

select * from finish();
rollback;

begin;
select plan(32);

-- Successful sign-ins and password changes are metered too, not only wrong passwords: every password sign-in from
-- one client address (nexus.auth_max_logins_per_address per 5 minutes) and every password change of one member
-- (nexus.auth_password_changes_per_hour), each refused before bcrypt is paid (auth.sign_in, auth.change_password).

create temp table got (name text primary key, o auth.session_outcome) on commit drop;
grant all on got to public;
create function pg_temp.o(n text) returns auth.session_outcome language sql as $$ select o from got where name = n $$;
grant execute on function pg_temp.o(text) to public;
create function pg_temp.as_session(member uuid, session uuid) returns void language plpgsql as $$
begin
  perform set_config('request.jwt.claims',
    json_build_object('sub', member, 'role', 'authenticated', 'aud', 'authenticated', 'session_id', session)::text, true);
  perform set_config('role', 'authenticated', true);
end $$;
grant execute on function pg_temp.as_session(uuid, uuid) to public;
-- A bcrypt hash of cost 2^20 (about a minute of CPU): an attempt that paid for it could not answer in time.
create function pg_temp.costly_hash() returns text language sql as $$
  select '$2a$20$' || substr(crypt('never-matches', gen_salt('bf', 4)), 8)
$$;

select tests.clear_authentication();
insert into got select 'walker', auth.register('walker@example.org', 'walker-password', 'Walker', null, '10.3.0.1');
select isnt((pg_temp.o('walker')).session_id, null, 'an account that signs in with its right password');
select isnt((auth.register('second@example.org', 'second-password', 'Second', null, '10.3.0.1')).session_id, null, 'and another');
reset role;
create temp table walker on commit drop as select id from auth.users where email = 'walker@example.org';
grant select on walker to public;
select set_config('nexus.auth_max_logins_per_address', '4', true);
select set_config('nexus.auth_password_changes_per_hour', '3', true);

-- Sign-ins from one address, right or wrong ------------------------------------------------------------------
select tests.clear_authentication();
select is(count((auth.sign_in('walker@example.org', 'walker-password', null, '203.0.113.20')).session_id)::int, 3,
  'three right passwords from one address: three sessions')
  from generate_series(1, 3) n;
insert into got select 'wrong', auth.sign_in('walker@example.org', 'not-it', null, '203.0.113.20');
select is((pg_temp.o('wrong')).error, 'UNAUTHENTICATED', 'a fourth, wrong, is still judged: it counts the same');
insert into got select 'fifth', auth.sign_in('walker@example.org', 'walker-password', null, '203.0.113.20');
select is((pg_temp.o('fifth')).error, 'RATE_LIMITED', 'past AUTH_MAX_LOGINS_PER_ADDRESS even the right password is RATE_LIMITED');
select is((pg_temp.o('fifth')).reason, 'over_request_rate_limit', 'with GoTrue''s reason');
select matches((pg_temp.o('fifth')).detail, '^too many sign-ins from this address: at most 4 in 5 minutes; try again in [0-9]+ seconds$',
  'and a detail that names the limit');
select ok((pg_temp.o('fifth')).retry_after between 1 and 300, 'and says how long to wait');
select is((pg_temp.o('fifth')).session_id, null, 'and opens no session');
select is((auth.sign_in('second@example.org', 'second-password', null, '203.0.113.20')).error, 'RATE_LIMITED',
  'the address is held for every account');
select is((auth.sign_in('nobody@example.org', 'x', null, '203.0.113.20')).error, 'RATE_LIMITED', 'unknown e-mails too');
select is((auth.sign_in('walker@example.org', 'walker-password', null, '::ffff:203.0.113.20')).error, 'RATE_LIMITED',
  'the same address IPv4-mapped is the same address');
select is((auth.sign_in('walker@example.org', 'walker-password', null, '203.0.113.21')).error, null, 'another address is not held');
reset role;
select is((select count(*)::int from nexus_private.auth_limit_events where kind = 'sign_in_attempt' and subject = '203.0.113.20'), 4,
  'refused attempts are not counted: the four judged ones are all there is');
select is((select count(*)::int from nexus_private.sessions where user_id = (select id from walker)), 5,
  'sessions: the sign-up''s, three, and the other address''s; none from a refusal');

-- Refused before bcrypt is paid --------------------------------------------------------------------------------
update auth.users set password_hash = pg_temp.costly_hash() where email = 'second@example.org';
set local statement_timeout = '5s';
select tests.clear_authentication();
select is((auth.sign_in('second@example.org', 'any-guess', null, '203.0.113.20')).error, 'RATE_LIMITED',
  'a refused sign-in answers at once though the account''s hash would take a minute: no bcrypt was paid');
reset role;
set local statement_timeout = 0;

-- The window -----------------------------------------------------------------------------------------------------
update nexus_private.auth_limit_events set happened_at = now() - interval '6 minutes' where kind = 'sign_in_attempt' and subject = '203.0.113.20';
select tests.clear_authentication();
select isnt((auth.sign_in('walker@example.org', 'walker-password', null, '203.0.113.20')).session_id, null,
  'the limit lets go 5 minutes after the attempts it counts');
select set_config('nexus.auth_max_logins_per_address', '', true);

-- Password changes per member ----------------------------------------------------------------------------------
select pg_temp.as_session((select id from walker), (pg_temp.o('walker')).session_id);
select throws_ok($$ select auth.change_password('short') $$, 'NX400', 'BAD_REQUEST', 'a malformed new password is refused');
select is((auth.change_password('changed-password-1')).error, null, 'a first change');
select is((auth.change_password('changed-password-2')).error, null, 'a second');
select is((auth.change_password('changed-password-3', 'wrong-current', '203.0.113.30')).error, 'UNAUTHENTICATED',
  'a third refused for a wrong current password');
insert into got select 'pw-fourth', auth.change_password('changed-password-4', 'changed-password-2', '203.0.113.30');
select is((pg_temp.o('pw-fourth')).error, 'RATE_LIMITED', 'past AUTH_PASSWORD_CHANGES_PER_HOUR the change is RATE_LIMITED, with the right current password too');
select matches((pg_temp.o('pw-fourth')).detail, '^too many password changes for this account: at most 3 an hour; try again in [0-9]+ seconds$',
  'naming the limit');
select ok((pg_temp.o('pw-fourth')).retry_after between 1 and 3600, 'and says how long to wait');
select is((auth.change_password('changed-password-5')).error, 'RATE_LIMITED', 'and without the current password');
reset role;
select is((select count(*)::int from auth.users where email = 'walker@example.org' and password_hash = crypt('changed-password-2', password_hash)), 1,
  'no refused change touched the password');
select is((select count(*)::int from nexus_private.auth_limit_events where kind = 'password_change' and subject = (select id from walker)::text), 3,
  'the malformed one and the refused ones are not counted; the wrong current password is');
select tests.authenticate_as((select id from auth.users where email = 'second@example.org'));
select is((auth.change_password('second-password-2')).error, null, 'another member is not held by it');

-- Refused before bcrypt: neither the current password's hash nor the new one's is paid ----------------------------
reset role;
update auth.users set password_hash = pg_temp.costly_hash() where email = 'walker@example.org';
set local statement_timeout = '5s';
select pg_temp.as_session((select id from walker), (pg_temp.o('walker')).session_id);
select is((auth.change_password('changed-password-6', 'any-guess', '203.0.113.30')).error, 'RATE_LIMITED',
  'a refused change answers at once though the current password''s hash would take a minute');
reset role;
set local statement_timeout = 0;

-- The window, and the sweep --------------------------------------------------------------------------------------
update nexus_private.auth_limit_events set happened_at = now() - interval '61 minutes' where kind = 'password_change' and subject = (select id from walker)::text;
select pg_temp.as_session((select id from walker), (pg_temp.o('walker')).session_id);
select is((auth.change_password('changed-password-7')).error, null, 'the limit lets go an hour after the changes it counts');
reset role;
insert into nexus_private.auth_limit_events (kind, subject, happened_at) values
  ('sign_in_attempt', '192.0.2.1', now() - interval '6 minutes'), ('sign_in_attempt', '192.0.2.2', now() - interval '4 minutes'),
  ('password_change', 'gone', now() - interval '61 minutes'), ('password_change', 'kept', now() - interval '59 minutes');
select tests.authenticate_as_service();
select ok(nexus_private.prune_sign_in_state() >= 2, 'the sweep runs');
reset role;
select is((select array_agg(subject order by subject) from nexus_private.auth_limit_events where subject in ('192.0.2.1', '192.0.2.2', 'gone', 'kept')),
  array['192.0.2.2', 'kept'], 'and drops sign-in attempts after 5 minutes, password changes after an hour');

select * from finish();
rollback;

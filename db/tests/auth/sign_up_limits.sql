begin;
select plan(20);

-- Sign-up as an e-mail oracle (auth.register, nexus_private.create_user): a sign-up refused because its e-mail or
-- callsign is taken is counted against nexus.auth_signups_per_hour like one that made an account, so probing
-- which e-mails have accounts is bounded per address; a taken callsign answers the same whatever the e-mail.

create temp table got (name text primary key, o auth.session_outcome) on commit drop;
grant all on got to public;
create function pg_temp.answer(n text) returns text language sql as $$
  select concat_ws(' | ', (o).error, coalesce((o).reason, '-'), (o).detail, (o).user_id::text) from got where name = n
$$;
grant execute on function pg_temp.answer(text) to public;
create function pg_temp.sign_ups(address text) returns integer language sql security definer as $$
  select count(*)::integer from nexus_private.auth_limit_events where kind = 'sign_up' and subject = address
$$;
grant execute on function pg_temp.sign_ups(text) to public;

select tests.clear_authentication();
select isnt((auth.register('held@example.org', 'held-password', 'Held', null, '10.2.0.1')).session_id, null, 'an account whose e-mail is probed');
select set_config('nexus.auth_signups_per_hour', '4', true);

-- The probe: a taken callsign with a known and with an unknown e-mail ------------------------------------------
-- Plain calls, not throws_ok: a refusal that raised would end this script (and roll its count back on a server).
insert into got select 'known', auth.register('held@example.org', 'whatever-password', 'Held', null, '203.0.113.50');
insert into got select 'unknown', auth.register('nobody@example.org', 'whatever-password', 'Held', null, '203.0.113.50');
select is(pg_temp.answer('known'), 'CONFLICT | - | callsign Held is taken', 'a taken callsign with a known e-mail is refused as a taken callsign');
select is(pg_temp.answer('unknown'), pg_temp.answer('known'), 'and with an unknown e-mail the answer is the same, word for word');
select is(pg_temp.sign_ups('203.0.113.50'), 2, 'both refusals are counted against the address''s sign-ups');

-- A free callsign with a known e-mail must be refused as taken (no e-mail confirmation): counted too ------------
insert into got select 'email-taken', auth.register('HELD@example.org', 'whatever-password', 'Fresh1', null, '203.0.113.50');
select is(pg_temp.answer('email-taken'), 'CONFLICT | user_already_exists | an account with this email already exists',
  'a free callsign with a known e-mail is refused as user_already_exists');
select is(pg_temp.sign_ups('203.0.113.50'), 3, 'and counted');

-- Malformed values tell nothing about anyone: raised, not counted ---------------------------------------------
select throws_ok($$ select auth.register('held@example.org', 'short', 'Held', null, '203.0.113.50') $$, 'NX400', 'BAD_REQUEST',
  'a password outside 8-72 characters is BAD_REQUEST before any account is looked at');
select throws_ok($$ select auth.register('not-an-email', 'whatever-password', 'Held', null, '203.0.113.50') $$, 'NX400', 'BAD_REQUEST',
  'so is a malformed e-mail');
select is(pg_temp.sign_ups('203.0.113.50'), 3, 'neither is counted');

-- At the limit every further sign-up from the address is RATE_LIMITED --------------------------------------------
insert into got select 'fourth', auth.register('nobody2@example.org', 'whatever-password', 'Held', null, '203.0.113.50');
select is((select (o).error from got where name = 'fourth'), 'CONFLICT', 'a fourth refusal is still answered');
select is(pg_temp.sign_ups('203.0.113.50'), 4, 'and counted: the address is at AUTH_SIGNUPS_PER_HOUR');
select throws_ok($$ select auth.register('held@example.org', 'whatever-password', 'Held', null, '203.0.113.50') $$, 'NX429', 'RATE_LIMITED',
  'then the probe is RATE_LIMITED');
select throws_ok($$ select auth.register('nobody3@example.org', 'whatever-password', 'Held', null, '203.0.113.50') $$, 'NX429', 'RATE_LIMITED',
  'with an unknown e-mail as well');
select throws_ok($$ select auth.register('fresh2@example.org', 'whatever-password', 'Fresh2', null, '203.0.113.50') $$, 'NX429', 'RATE_LIMITED',
  'and so is a sign-up that would have made an account');
select is(pg_temp.sign_ups('203.0.113.50'), 4, 'a RATE_LIMITED refusal counts nothing more');

-- Other addresses are not affected --------------------------------------------------------------------------------
insert into got select 'elsewhere-probe', auth.register('held@example.org', 'whatever-password', 'Held', null, '198.51.100.50');
select is(pg_temp.answer('elsewhere-probe'), pg_temp.answer('known'), 'another address is still answered');
insert into got select 'elsewhere', auth.register('fresh3@example.org', 'whatever-password', 'Fresh3', null, '198.51.100.50');
select isnt((select (o).session_id from got where name = 'elsewhere'), null, 'and may still sign up');
select is(pg_temp.sign_ups('198.51.100.50'), 2, 'its own refusal and sign-up are its own count');

-- Refusals made nothing --------------------------------------------------------------------------------------------
reset role;
select is((select count(*)::integer from auth.users where email in ('nobody@example.org', 'nobody2@example.org', 'nobody3@example.org', 'fresh2@example.org')),
  0, 'no refused sign-up made an account');
select is((select count(*)::integer from auth.users where email = 'held@example.org'), 1, 'the probed account is one account still');

select * from finish();
rollback;

begin;
select plan(38);

-- Failed sign-ins are counted per account and per client address (auth.sign_in, nexus_private.sign_in_wait):
-- a stranger cannot lock an owner out from elsewhere, one address cannot spray many accounts, and many addresses
-- together still meet a ceiling for one account.

create temp table got (name text primary key, o auth.session_outcome) on commit drop;
grant all on got to public;
create function pg_temp.err(n text) returns text language sql as $$ select (o).error from got where name = n $$;
grant execute on function pg_temp.err(text) to public;

select tests.clear_authentication();
select isnt((auth.register('owner@example.org', 'owner-password', 'Owner', null, '10.1.0.1')).session_id, null, 'an account to attack');
select isnt((auth.register('other@example.org', 'other-password', 'Other', null, '10.1.0.1')).session_id, null, 'and a second one');
reset role;
select set_config('nexus.auth_max_failed_logins', '3', true);
select set_config('nexus.auth_max_failed_logins_per_address', '5', true);
select set_config('nexus.auth_max_failed_logins_per_account', '7', true);

-- One account from one address -------------------------------------------------------------------------------
select tests.clear_authentication();
select (auth.sign_in('owner@example.org', 'guess-1', null, '203.0.113.9')).error;
select (auth.sign_in('owner@example.org', 'guess-2', null, '203.0.113.9')).error;
insert into got select 'stranger-3', auth.sign_in('owner@example.org', 'guess-3', null, '203.0.113.9');
select is(pg_temp.err('stranger-3'), 'UNAUTHENTICATED', 'the third wrong password from one address is still judged');
insert into got select 'stranger-right', auth.sign_in('owner@example.org', 'owner-password', null, '203.0.113.9');
select is(pg_temp.err('stranger-right'), 'RATE_LIMITED', 'past AUTH_MAX_FAILED_LOGINS that address is refused, even with the right password');
select matches((select (o).reason || ': ' || (o).detail from got where name = 'stranger-right'),
  '^over_request_rate_limit: too many failed sign-ins for this account from this address; try again in [0-9]+ seconds$',
  'with GoTrue''s reason and a detail that names the limit');
select ok((select (o).retry_after from got where name = 'stranger-right') between 1 and 900, 'and says how long to wait');
insert into got select 'owner', auth.sign_in('owner@example.org', 'owner-password', null, '198.51.100.4');
select is(pg_temp.err('owner'), null, 'the owner signs in from their own address: the stranger did not lock them out');
select is((auth.sign_in('owner@example.org', 'owner-password', null, '203.0.113.9')).error, 'RATE_LIMITED',
  'and the owner''s sign-in elsewhere does not clear the stranger''s count');
select is((auth.sign_in('owner@example.org', 'owner-password', null, null)).error, null,
  'no address is the address "unknown", a different one');
reset role;
select is((select count(*)::int from nexus_private.auth_limit_events
            where kind = 'sign_in_failure' and subject = 'owner@example.org' and client_address = '203.0.113.9'), 3,
  'a refused attempt is not counted as a failure: the stranger''s three are all there is');

-- The right password clears only its own address's failures ----------------------------------------------------
select tests.clear_authentication();
select is((auth.sign_in('owner@example.org', 'typo', null, '198.51.100.4')).error, 'UNAUTHENTICATED', 'the owner mistypes once');
select is((auth.sign_in('owner@example.org', 'owner-password', null, '198.51.100.4')).error, null, 'then signs in');
reset role;
select is((select count(*)::int from nexus_private.auth_limit_events
            where kind = 'sign_in_failure' and subject = 'owner@example.org' and client_address = '198.51.100.4'), 0,
  'which clears the owner''s typo');
select is((select count(*)::int from nexus_private.auth_limit_events
            where kind = 'sign_in_failure' and subject = 'owner@example.org'), 3, 'and keeps what the stranger got wrong');

-- One address over many accounts (spraying) --------------------------------------------------------------------
select tests.clear_authentication();
select (auth.sign_in('a@example.org', 'Spring2026!', null, '192.0.2.50')).error;
select (auth.sign_in('b@example.org', 'Spring2026!', null, '192.0.2.50')).error;
select (auth.sign_in('c@example.org', 'Spring2026!', null, '192.0.2.50')).error;
select (auth.sign_in('d@example.org', 'Spring2026!', null, '192.0.2.50')).error;
insert into got select 'spray-5', auth.sign_in('other@example.org', 'Spring2026!', null, '192.0.2.50');
select is(pg_temp.err('spray-5'), 'UNAUTHENTICATED', 'five accounts, one guess each: all judged (unknown e-mails count too)');
insert into got select 'spray-6', auth.sign_in('other@example.org', 'other-password', null, '192.0.2.50');
select is(pg_temp.err('spray-6'), 'RATE_LIMITED', 'past AUTH_MAX_FAILED_LOGINS_PER_ADDRESS the address is refused for every account');
select matches((select (o).detail from got where name = 'spray-6'), '^too many failed sign-ins from this address; ', 'naming that limit');
select is((auth.sign_in('e@example.org', 'x', null, '192.0.2.50')).error, 'RATE_LIMITED', 'an account it never tried too');
select is((auth.sign_in('other@example.org', 'other-password', null, '192.0.2.51')).error, null, 'another address is not held by it');

-- One account over many addresses (the ceiling) ------------------------------------------------------------------
-- The owner's account has the stranger's 3 failures; 4 more from other addresses reach AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT (7).
select (auth.sign_in('owner@example.org', 'guess', null, '100.64.0.' || n)).error from generate_series(1, 4) n;
insert into got select 'ceiling', auth.sign_in('owner@example.org', 'owner-password', null, '198.51.100.4');
select is(pg_temp.err('ceiling'), 'RATE_LIMITED', 'past AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT the account is refused from every address, the owner''s too');
select matches((select (o).detail from got where name = 'ceiling'), '^too many failed sign-ins for this account; ', 'naming that limit');
reset role;
update nexus_private.auth_limit_events set happened_at = now() - interval '16 minutes' where subject = 'owner@example.org';
select tests.clear_authentication();
select is((auth.sign_in('owner@example.org', 'owner-password', null, '203.0.113.9')).error, null,
  'every limit lets go 15 minutes after the failures it counts');

-- Failures from before the per-address count (no address) count for the account only -----------------------------
reset role;
insert into nexus_private.auth_limit_events (kind, subject, happened_at)
  select 'sign_in_failure', 'other@example.org', now() from generate_series(1, 7);
select tests.clear_authentication();
select is((auth.sign_in('other@example.org', 'other-password', null, '192.0.2.99')).error, 'RATE_LIMITED', 'they hold the account''s ceiling');
select is((auth.sign_in('b@example.org', 'x', null, '192.0.2.99')).error, 'UNAUTHENTICATED', 'and no address');

-- A password change's current_password is counted the same way -------------------------------------------------
reset role;
delete from nexus_private.auth_limit_events;
select tests.authenticate_as((select id from auth.users where email = 'owner@example.org'));
select (auth.change_password('new-password-1', 'wrong-' || n, '203.0.113.77')).error from generate_series(1, 3) n;
select is((auth.change_password('new-password-1', 'owner-password', '203.0.113.77')).error, 'RATE_LIMITED',
  'a token holder guessing the current password from one address meets the same limit');
select tests.clear_authentication();
select is((auth.sign_in('owner@example.org', 'owner-password', null, '203.0.113.77')).error, 'RATE_LIMITED', 'which holds sign-in from that address too');

-- The pieces are no API role's to call: a guess only ever goes through sign_in and change_password ---------------
select tests.clear_authentication();
select throws_ok($$ select nexus_private.password_attempt('owner@example.org', '203.0.113.1', 'x', null) $$, '42501', null,
  'anon cannot make an uncounted guess through password_attempt');
reset role;
select tests.authenticate_as((select id from auth.users where email = 'owner@example.org'));
select throws_ok($$ select nexus_private.sign_in_judged('owner@example.org', '203.0.113.9', true) $$, '42501', null,
  'a member cannot clear a count through sign_in_judged');

-- What counts as one address ------------------------------------------------------------------------------------
reset role;
select is(nexus_private.limit_address('203.0.113.9'), '203.0.113.9', 'an IPv4 address is itself');
select is(nexus_private.limit_address('::ffff:203.0.113.9'), '203.0.113.9', 'also when node reports it IPv4-mapped');
select is(nexus_private.limit_address('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64', 'an IPv6 address counts as its /64');
select is(nexus_private.limit_address(' 2001:DB8:1:2::1 '), '2001:db8:1:2::/64', 'whatever its spelling');
select is(nexus_private.limit_address(null), 'unknown', 'none is "unknown"');
select is(nexus_private.limit_address('not an address'), 'not-an-address', 'anything else is one bucket, so no string buys a fresh count');
select is(nexus_private.limit_address(md5(random()::text)), 'not-an-address', 'whatever it says');

select tests.clear_authentication();
select (auth.sign_in('b@example.org', 'x', null, '2001:db8:7:7::' || n)).error from generate_series(1, 3) n;
select is((auth.sign_in('b@example.org', 'x', null, '2001:db8:7:7:ffff::1')).error, 'RATE_LIMITED',
  'a fresh IPv6 address in the same /64 is the same address to the limits');
select is((auth.sign_in('b@example.org', 'x', null, '2001:db8:7:8::1')).error, 'UNAUTHENTICATED', 'the next /64 is another');
select set_config('nexus.auth_signups_per_hour', '1', true);
select auth.register('v6-one@example.org', 'v6-password', 'VSix1', null, '2001:db8:9:9::1');
select throws_ok($$ select auth.register('v6-two@example.org', 'v6-password', 'VSix2', null, '2001:db8:9:9::2') $$, 'NX429', null,
  'sign-ups count per /64 too');

select * from finish();
rollback;

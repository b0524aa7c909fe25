begin;
select plan(23);

select tests.clear_authentication();
select is(auth.uid(), null, 'auth.uid() is null without JWT claims');
select is(auth.rank(), null, 'auth.rank() is null without JWT claims');
select is(auth.role(), 'anon', 'auth.role() is anon without JWT claims');

reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is(auth.uid(), tests.user_of_rank('SCOUT'), 'auth.uid() reads the sub claim');
select is(auth.rank(), 'SCOUT'::public.rank, 'auth.rank() reads the caller''s rank from profiles');

-- Supabase's older per-claim setting is honoured too.
reset role;
select set_config('request.jwt.claims', '', true);
select set_config('request.jwt.claim.sub', tests.user_of_rank('VOYAGER')::text, true);
select set_config('request.jwt.claim.role', 'authenticated', true);
select is(auth.uid(), tests.user_of_rank('VOYAGER'), 'auth.uid() falls back to request.jwt.claim.sub and .role');
select set_config('request.jwt.claim.role', 'anon', true);
select is(auth.uid(), null, 'but not under another role');
select set_config('request.jwt.claim.sub', '', true);
select set_config('request.jwt.claim.role', '', true);

-- A sub names a member only on a member's token that is in force.
create function pg_temp.as_claims(claims jsonb) returns void language plpgsql as $$
begin
  perform set_config('request.jwt.claims', claims::text, true);
end $$;
select pg_temp.as_claims(jsonb_build_object('sub', tests.user_of_rank('PIONEER'), 'role', 'anon'));
select is(auth.uid(), null, 'an anon JWT that carries a sub names no one');
select is(auth.rank(), null, 'and has no rank');
select pg_temp.as_claims(jsonb_build_object('sub', tests.user_of_rank('PIONEER'), 'role', 'service_role'));
select is(auth.uid(), null, 'nor does a service_role JWT with a sub');
select pg_temp.as_claims(jsonb_build_object('sub', tests.user_of_rank('PIONEER'), 'role', 'authenticated', 'exp', extract(epoch from now())::bigint - 1));
select is(auth.uid(), null, 'a member''s JWT whose exp has passed is anon (a subscription''s later checks)');
select pg_temp.as_claims(jsonb_build_object('sub', tests.user_of_rank('PIONEER'), 'role', 'authenticated', 'exp', 'tomorrow'));
select is(auth.uid(), null, 'an exp that is not a number counts as passed');
select pg_temp.as_claims(jsonb_build_object('sub', tests.user_of_rank('PIONEER'), 'role', 'authenticated', 'exp', extract(epoch from now())::bigint + 60));
select is(auth.uid(), tests.user_of_rank('PIONEER'), 'one whose exp is ahead names its member');
select pg_temp.as_claims(jsonb_build_object('sub', 'not-a-uuid', 'role', 'authenticated'));
select is(auth.uid(), null, 'a sub that is not a uuid names no one');
select pg_temp.as_claims(jsonb_build_object('sub', tests.user_of_rank('PIONEER'), 'role', 'authenticated', 'session_id', gen_random_uuid()));
select is(auth.uid(), tests.user_of_rank('PIONEER'), 'a session_id with no row (a Supabase token, a long-pruned session) leaves the token to its exp');
select set_config('request.jwt.claims', '', true);

-- register / authenticate
select tests.clear_authentication();
select isnt((auth.register('newcomer@example.org', 'correct horse', 'Newcomer')).user_id, null, 'anyone may register');
reset role;
select is((select rank from public.profiles where callsign = 'Newcomer'), 'VAGRANT'::public.rank, 'a new account is VAGRANT');
select tests.clear_authentication();
select is((select o.error || ' ' || o.reason from auth.register('NEWCOMER@example.org', 'another pass', 'Other') o),
  'CONFLICT user_already_exists', 'an email is registered once, whatever its case');
select is((select o.error || ': ' || o.detail from auth.register('x@example.org', 'another pass', 'newcomer') o),
  'CONFLICT: callsign newcomer is taken', 'a callsign is taken once, whatever its case');
select throws_ok($$ select auth.register('y@example.org', 'short', 'Shorty') $$,
  'NX400', 'BAD_REQUEST', 'a password under 8 characters is refused');
reset role;
create temp table newcomer on commit drop as select id from auth.users where email = 'newcomer@example.org';
grant select on newcomer to public;
select tests.clear_authentication();
select is((auth.sign_in('Newcomer@Example.org', 'correct horse')).user_id, (select id from newcomer),
  'sign_in returns the user id for the right password, whatever the email''s case');
select is((auth.sign_in('newcomer@example.org', 'wrong horse')).error, 'UNAUTHENTICATED', 'a wrong password is refused');
select is((auth.sign_in('nobody@example.org', 'whatever1')).error, 'UNAUTHENTICATED', 'an unknown email is refused the same way');

select * from finish();
rollback;

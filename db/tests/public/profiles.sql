begin;
select plan(18);

select tests.user_of_rank('SCOUT');
select tests.user_of_rank('VOYAGER');

-- anon
select tests.clear_authentication();
select throws_ok($$ select * from public.profiles $$, '42501', null, 'anon cannot read profiles');
select throws_ok($$ select * from auth.users $$, '42501', null, 'anon cannot read credentials');
select throws_ok($$ select * from nexus_private.audit_log $$, '42501', null, 'anon cannot read the audit log');
select throws_ok($$ select public.current_profile() $$, '42501', null, 'anon has no current profile to read');

-- a member
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select ok((select count(*) from public.profiles) >= 2, 'a member sees other members'' callsign and rank');
select throws_ok($$ select password_hash from auth.users $$, '42501', null, 'a member cannot read password hashes');
select throws_ok($$ select * from nexus_private.audit_log $$, '42501', null, 'a member cannot read the audit log');
select is((public.current_profile()).callsign, 'test-scout', 'current_profile() is the caller''s own');

select lives_ok($$ update public.profiles set callsign = 'Scout-Renamed' where id = auth.uid() $$,
  'a member may change their own callsign');
update public.profiles set callsign = 'hijacked' where id = tests.user_of_rank('VOYAGER');
reset role;
select is((select callsign from public.profiles where id = tests.user_of_rank('VOYAGER')), 'test-voyager',
  'a member cannot change another member''s callsign');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ update public.profiles set rank = 'PIONEER' where id = auth.uid() $$, '42501', null,
  'a member cannot write their own rank column');
select throws_ok($$ insert into public.profiles (id, callsign) values (gen_random_uuid(), 'ghost') $$, '42501', null,
  'a member cannot create profiles');
select throws_ok($$ delete from public.profiles where id = auth.uid() $$, '42501', null,
  'a member cannot delete profiles');

-- Look-alike callsigns: spaces at the ends or doubled are taken out on every write, so the unique index sees them
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ update public.profiles set callsign = 'Scout-Renamed ' where id = auth.uid() $$, '23505', null,
  'a member cannot take another''s callsign with a trailing space');
select throws_ok($$ update public.profiles set callsign = '  scout-renamed' where id = auth.uid() $$, '23505', null,
  'nor with leading spaces, whatever the case');
select lives_ok($$ update public.profiles set callsign = 'Voyager   One ' where id = auth.uid() $$, 'a callsign with untidy spaces is taken');
select is((select callsign from public.profiles where id = auth.uid()), 'Voyager One', 'and kept tidy');
reset role;
select throws_ok($$ select nexus_private.create_user('lookalike@example.org', 'password-123', 'Voyager One ', 'VAGRANT') $$, 'NX409', 'CONFLICT',
  'sign-up refuses a look-alike of a taken callsign as taken');

select * from finish();
rollback;

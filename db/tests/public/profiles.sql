begin;
select plan(13);

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

select * from finish();
rollback;

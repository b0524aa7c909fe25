begin;
select plan(9);

select tests.user_of_rank('SCOUT');
select tests.user_of_rank('VAGRANT');
select tests.user_of_rank('PIONEER');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select public.fire_rescue_flare('Stanton III - Crusader', 'MEDICAL');

-- anon
select tests.clear_authentication();
select throws_ok($$ select * from public.rescue_flares $$, '42501', null, 'anon cannot read rescue flares');

-- every member reads every flare, whatever their rank
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select results_eq($$ select location, requester_id from public.rescue_flares $$,
  $$ values ('Stanton III - Crusader', tests.user_of_rank('SCOUT')) $$,
  'a VAGRANT sees another member''s flare: who needs help and where');

-- nobody edits a flare around the functions, not even a PIONEER, not even on their own flare
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ update public.rescue_flares set status = 'RESOLVED' $$, '42501', null,
  'a PIONEER cannot edit another member''s flare');
select throws_ok($$ delete from public.rescue_flares $$, '42501', null, 'a PIONEER cannot delete another member''s flare');
select throws_ok($$ insert into public.rescue_flares (requester_id, location, flare_type)
                    values (tests.user_of_rank('SCOUT'), 'spoofed', 'COMBAT') $$, '42501', null,
  'a member cannot insert a flare directly (or in another member''s name)');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ update public.rescue_flares set location = 'elsewhere' where requester_id = auth.uid() $$, '42501', null,
  'the requester cannot edit their flare directly either');
select throws_ok($$ update public.rescue_flares set status = 'RESOLVED' where requester_id = auth.uid() $$, '42501', null,
  'the requester changes its status only through resolve or cancel');

-- the table holds the one-active rule on its own
reset role;
select throws_ok(format($$ insert into public.rescue_flares (requester_id, location, flare_type) values (%L, 'second', 'FUEL') $$,
                        tests.user_of_rank('SCOUT')),
  '23505', null, 'a second active flare for one requester is refused by the table itself');
select throws_ok(format($$ insert into public.rescue_flares (requester_id, location, flare_type) values (%L, '   ', 'FUEL') $$,
                        tests.user_of_rank('PIONEER')),
  '23514', null, 'a flare needs a location');

select * from finish();
rollback;

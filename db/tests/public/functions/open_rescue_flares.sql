begin;
select plan(10);

-- Two flares: one OPEN, one acknowledged by a VOYAGER; a third already resolved.
create temp table flares (name text, id uuid) on commit drop;
grant all on flares to public;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
insert into flares select 'scout', (public.fire_rescue_flare('Stanton III - Crusader', 'MEDICAL')).id;
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
insert into flares select 'voyager', (public.fire_rescue_flare('Hurston', 'FUEL')).id;
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select public.acknowledge_rescue_flare((select id from flares where name = 'voyager'));
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
insert into flares select 'pioneer', (public.fire_rescue_flare('ArcCorp', 'REPAIR')).id;
select public.resolve_rescue_flare((select id from flares where name = 'pioneer'));
reset role;

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select results_eq(
  $$ select location, status::text, requester_callsign, responder_callsign from public.open_rescue_flares() order by location $$,
  $$ values ('Hurston', 'ACKNOWLEDGED', 'test-voyager', 'test-founder'), ('Stanton III - Crusader', 'OPEN', 'test-scout', null::text) $$,
  'a FOUNDER sees every open and acknowledged flare with callsigns, and no resolved one');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is((select count(*)::int from public.open_rescue_flares()), 2, 'a PIONEER sees them too');
reset role;

select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select * from public.open_rescue_flares() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a VAGRANT may not list flares for operators');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select * from public.open_rescue_flares() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'an AFFILIATE may not list flares for operators');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.open_rescue_flares() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a SCOUT may not list flares for operators');
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select * from public.open_rescue_flares() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a VOYAGER may not list flares for operators');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.open_rescue_flares() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'anon may not list flares for operators');
reset role;
select tests.authenticate_as_service();
select is((select count(*)::int from public.open_rescue_flares()), 2, 'service_role sees the open flares');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ insert into public.rescue_flares (requester_id, location, flare_type) values (auth.uid(), 'x', 'OTHER') $$,
  '42501', null, 'the operators'' view gives no write access to flares');
select is((select count(*)::int from public.open_rescue_flares() where location = 'ArcCorp'), 0, 'a resolved flare is not open');

select * from finish();
rollback;

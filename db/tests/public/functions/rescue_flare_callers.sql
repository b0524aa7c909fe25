begin;
select plan(11);

/*
 * Who may answer, resolve and cancel a rescue flare, tried from the sides the flare tests do not take: anon
 * (no grant on any of the three), the responder (answering a flare does not make it theirs to close), and
 * service_role (operators close any member's flare, but answer none: a responder is a member).
 */
select tests.user_of_rank('VAGRANT');
create temp table flares on commit drop as
select 'scout' as name, tests.fire_flare(tests.user_of_rank('SCOUT'), 'Stanton III - Crusader') as id
union all select 'voyager', tests.fire_flare(tests.user_of_rank('VOYAGER'), 'Hurston', 'FUEL');
grant select on flares to public;

-- anon
select tests.clear_authentication();
select throws_ok($$ select public.acknowledge_rescue_flare((select id from flares where name = 'scout')) $$, '42501', null,
  'anon cannot answer a flare');
select throws_ok($$ select public.resolve_rescue_flare((select id from flares where name = 'scout')) $$, '42501', null,
  'anon cannot resolve a flare');
select throws_ok($$ select public.cancel_rescue_flare((select id from flares where name = 'scout')) $$, '42501', null,
  'anon cannot cancel a flare');
reset role;

-- the responder: another member, who answered it
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is((public.acknowledge_rescue_flare((select id from flares where name = 'scout'))).responder_id, auth.uid(),
  'a VAGRANT answers the SCOUT''s flare');
select throws_ok($$ select public.resolve_rescue_flare((select id from flares where name = 'scout')) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'the responder cannot resolve the flare they answered');
select throws_ok($$ select public.cancel_rescue_flare((select id from flares where name = 'scout')) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'nor cancel it');
reset role;
select is((select status from public.rescue_flares where id = (select id from flares where name = 'scout')),
  'ACKNOWLEDGED'::public.flare_status, 'the flare is still ACKNOWLEDGED');

-- service_role
select tests.authenticate_as_service();
select throws_ok($$ select public.acknowledge_rescue_flare((select id from flares where name = 'voyager')) $$, '42501', null,
  'service_role cannot answer a flare (only a member can be its responder)');
select is((public.resolve_rescue_flare((select id from flares where name = 'scout'))).status, 'RESOLVED'::public.flare_status,
  'service_role resolves a member''s flare');
select is((public.cancel_rescue_flare((select id from flares where name = 'voyager'))).status, 'CANCELLED'::public.flare_status,
  'service_role cancels a member''s flare');
reset role;
select results_eq($$ select actor_role, action from nexus_private.audit_log
                      where action in ('flare.resolved', 'flare.cancelled') order by id $$,
  $$ values ('service_role', 'flare.resolved'), ('service_role', 'flare.cancelled') $$,
  'the operators'' closes are audited as service_role; the refused attempts left nothing');

select * from finish();
rollback;

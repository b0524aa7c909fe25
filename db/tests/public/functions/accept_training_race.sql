/*
 * Two mentors accept the same request at the same moment: exactly one wins, the other gets CONFLICT.
 *
 * pgTAP runs in one session, so the two mentors are two more sessions opened with dblink. Those cannot see this
 * file's uncommitted rows, so the fixture (members, skill, request) is committed through a third dblink session
 * and deleted again at the end; every name here starts with "race-" so nothing else in the suite can collide.
 * The race is forced, not hoped for: mentor 1 accepts and keeps its transaction open; mentor 2's accept is sent
 * and we wait until Postgres shows it blocked on mentor 1's row lock; then mentor 1 commits and mentor 2's
 * guarded update (status = 'PENDING') finds the request taken.
 */
begin;
select plan(10);
-- dblink_get_result reports the remote error as a NOTICE as well; the test reads it with dblink_error_message.
set local client_min_messages = warning;

create extension if not exists dblink schema tests;
create temporary table jobs_before on commit drop as select count(*)::int as n from graphile_worker._private_jobs;

select tests.dblink_connect('setup', tests.this_database());
create temporary table fixture on commit drop as
  select * from tests.dblink('setup', $$
    with cadet as (select tests.create_user('race-cadet', 'VAGRANT') as id),
         mentor1 as (select tests.create_user('race-mentor-1', 'SCOUT') as id),
         mentor2 as (select tests.create_user('race-mentor-2', 'PIONEER') as id),
         skill as (select tests.create_skill('race-skill') as id)
    select cadet.id, mentor1.id, mentor2.id, skill.id from cadet, mentor1, mentor2, skill
  $$) as f(cadet uuid, mentor1 uuid, mentor2 uuid, skill uuid);
select tests.dblink_exec('setup', format($$
  do $do$ begin perform tests.certify(%1$L, %3$L), tests.certify(%2$L, %3$L), tests.subscribe(%4$L); end $do$
  $$, (select mentor1 from fixture), (select mentor2 from fixture), (select skill from fixture), (select cadet from fixture)));
create temporary table request on commit drop as
  select * from tests.dblink('setup', format($$ select tests.request_training(%L, %L) $$,
    (select cadet from fixture), (select skill from fixture))) as r(id uuid);

-- Each mentor in a session of their own, signed in the way a request is.
select tests.dblink_connect(m, tests.this_database()) from unnest(array['mentor1', 'mentor2']) m;
select tests.dblink_exec(m, 'begin'),
       tests.dblink_exec(m, format('set local "request.jwt.claims" = %L',
         json_build_object('sub', id, 'role', 'authenticated', 'aud', 'authenticated'))),
       tests.dblink_exec(m, 'set local role authenticated')
  from (values ('mentor1', (select mentor1 from fixture)), ('mentor2', (select mentor2 from fixture))) s(m, id);

-- Mentor 1 accepts and holds its transaction open.
create temporary table first_accept on commit drop as
  select * from tests.dblink('mentor1', format('select sim_pod from public.accept_training(%L)', (select id from request)))
    as a(sim_pod text);
select matches((select sim_pod from first_accept), '^sim-pod-', 'the first mentor''s accept goes through');

-- Mentor 2 accepts the same request meanwhile; wait until it is blocked on mentor 1's row lock.
select tests.dblink_send_query('mentor2', format('select sim_pod from public.accept_training(%L)', (select id from request)));
select ok(tests.wait_for_lock_wait('accept_training'), 'the second mentor''s accept waits on the first one''s row lock: they really race');
select is(tests.dblink_is_busy('mentor2'), 1, 'the second accept has not finished while the first is uncommitted');

-- Mentor 1 commits; mentor 2's guarded update now finds the request ACCEPTED.
select tests.dblink_exec('mentor1', 'commit');
create temporary table second_accept on commit drop as
  select * from tests.dblink_get_result('mentor2', false) as a(sim_pod text);
select is_empty($$ select * from second_accept $$, 'the second mentor gets no sim pod');
select matches(tests.dblink_error_message('mentor2'), '^ERROR:  CONFLICT\nDETAIL:  another mentor accepted this request first',
  'the second mentor gets CONFLICT: another mentor accepted first');
select * from tests.dblink_get_result('mentor2', false) as a(sim_pod text);
select tests.dblink_exec('mentor2', 'rollback');

select results_eq(format($$ select status, mentor_id, sim_pod_id from public.academy_requests where id = %L $$, (select id from request)),
  format($$ values ('ACCEPTED'::public.academy_request_status, %L::uuid, %L::text) $$, (select mentor1 from fixture), (select sim_pod from first_accept)),
  'the request is ACCEPTED once, by the first mentor, with the first mentor''s pod');
select is((select count(*)::int from public.sim_pods where request_id = (select id from request)), 1, 'exactly one sim pod exists');
select is((select count(*)::int from public.notification_queue where user_id = (select cadet from fixture) and type = 'SIM_POD_READY'), 1,
  'the cadet is paged once');
select is((select count(*)::int from nexus_private.audit_log where action = 'academy_request.accepted' and details ->> 'request_id' = (select id from request)::text), 1,
  'one accept is on the audit trail');

-- Remove what was committed for the race.
select tests.dblink_exec('setup', format($$
  delete from graphile_worker._private_jobs j
   where (j.payload -> 'ids')::jsonb <@ (select coalesce(jsonb_agg(q.id), '[]') from public.notification_queue q where q.user_id = %1$L)
     and json_array_length(j.payload -> 'ids') > 0;
  delete from nexus_private.audit_log a where a.actor_id in (%1$L, %2$L, %3$L) or a.details ->> 'user_id' in (%2$L, %3$L);
  -- the pod's live rights job (it would remove whoever is still in the pod's room when it expires)
  delete from graphile_worker._private_jobs j where j.key = 'voice_rights:sim_pod:' || %5$L;
  delete from nexus_private.voice_rights_changes c where c.sim_pod_id = %5$L;
  delete from auth.users u where u.id in (%1$L, %2$L, %3$L);
  delete from public.skills s where s.id = %4$L
  $$, (select cadet from fixture), (select mentor1 from fixture), (select mentor2 from fixture), (select skill from fixture),
      (select sim_pod from first_accept)));
select tests.dblink_disconnect(c) from unnest(array['setup', 'mentor1', 'mentor2']) c;
select is((select count(*)::int from public.profiles where callsign like 'race-%')
          + (select count(*)::int from public.skills where name = 'race-skill')
          + (select count(*)::int from graphile_worker._private_jobs) - (select n from jobs_before), 0,
  'the race leaves nothing committed behind for the rest of the suite');

select * from finish();
rollback;

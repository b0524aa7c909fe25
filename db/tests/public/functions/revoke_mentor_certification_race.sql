/*
 * A FOUNDER revokes a mentor's certification while that mentor's accept is under way: the training the accept
 * makes is still ended by the revocation, never left ACCEPTED with a mentor who is no longer certified.
 *
 * As in accept_training_race.sql: the fixture is committed through a dblink session (every name starts with
 * "revoke-race-") and removed at the end; the mentor and the FOUNDER are two more sessions. The mentor accepts and
 * keeps its transaction open; the revocation is sent and we wait until Postgres shows it blocked on the
 * certification the accept holds; then the mentor commits, and the revocation finds the training it must end.
 */
begin;
select plan(7);
set local client_min_messages = warning;

create extension if not exists dblink schema tests;
create temporary table jobs_before on commit drop as select count(*)::int as n from graphile_worker._private_jobs;

select tests.dblink_connect('setup', tests.this_database());
create temporary table fixture on commit drop as
  select * from tests.dblink('setup', $$
    with cadet as (select tests.create_user('revoke-race-cadet', 'VAGRANT') as id),
         mentor as (select tests.create_user('revoke-race-mentor', 'SCOUT') as id),
         founder as (select tests.create_user('revoke-race-founder', 'FOUNDER') as id),
         skill as (select tests.create_skill('revoke-race-skill') as id)
    select cadet.id, mentor.id, founder.id, skill.id from cadet, mentor, founder, skill
  $$) as f(cadet uuid, mentor uuid, founder uuid, skill uuid);
select tests.dblink_exec('setup', format($$ do $do$ begin perform tests.certify(%L, %L); end $do$ $$, (select mentor from fixture), (select skill from fixture)));
create temporary table request on commit drop as
  select * from tests.dblink('setup', format($$ select tests.request_training(%L, %L) $$,
    (select cadet from fixture), (select skill from fixture))) as r(id uuid);

select tests.dblink_connect(m, tests.this_database()) from unnest(array['mentor', 'founder']) m;
select tests.dblink_exec(m, 'begin'),
       tests.dblink_exec(m, format('set local "request.jwt.claims" = %L',
         json_build_object('sub', id, 'role', 'authenticated', 'aud', 'authenticated'))),
       tests.dblink_exec(m, 'set local role authenticated')
  from (values ('mentor', (select mentor from fixture)), ('founder', (select founder from fixture))) s(m, id);

-- The mentor accepts and holds its transaction open.
create temporary table accepted on commit drop as
  select * from tests.dblink('mentor', format('select sim_pod from public.accept_training(%L)', (select id from request)))
    as a(sim_pod text);
select matches((select sim_pod from accepted), '^sim-pod-', 'the mentor''s accept goes through');

-- The FOUNDER revokes meanwhile; it waits for the accept.
select tests.dblink_send_query('founder', format('select user_id from public.revoke_mentor_certification(%L, %L)',
  (select mentor from fixture), (select skill from fixture)));
select ok(tests.wait_for_lock_wait('revoke_mentor_certification'),
  'the revocation waits on the certification the accept under way holds');

select tests.dblink_exec('mentor', 'commit');
select is((select user_id from tests.dblink_get_result('founder', false) as r(user_id uuid)), (select mentor from fixture),
  'once the accept commits, the revocation goes through');
select * from tests.dblink_get_result('founder', false) as r(user_id uuid);
select tests.dblink_exec('founder', 'commit');

select is((select status from public.academy_requests where id = (select id from request)), 'CANCELLED'::public.academy_request_status,
  'the training accepted during the revocation is cancelled by it');
select ok((select expires_at <= clock_timestamp() from public.sim_pods where id = (select sim_pod from accepted)), 'and its pod is closed');
select ok(not exists (select 1 from public.mentor_certifications where user_id = (select mentor from fixture)), 'the certification is gone');

-- Remove what was committed for the race.
select tests.dblink_exec('setup', format($$
  delete from graphile_worker._private_jobs j
   where (j.payload -> 'ids')::jsonb <@ (select coalesce(jsonb_agg(q.id), '[]') from public.notification_queue q where q.user_id = %1$L)
     and json_array_length(j.payload -> 'ids') > 0;
  delete from nexus_private.audit_log a where a.actor_id in (%1$L, %2$L, %3$L) or a.details ->> 'user_id' in (%2$L);
  delete from graphile_worker._private_jobs j where j.key = 'voice_rights:sim_pod:' || %5$L;
  delete from nexus_private.voice_rights_changes c where c.sim_pod_id = %5$L;
  delete from auth.users u where u.id in (%1$L, %2$L, %3$L);
  delete from public.skills s where s.id = %4$L
  $$, (select cadet from fixture), (select mentor from fixture), (select founder from fixture), (select skill from fixture),
      (select sim_pod from accepted)));
select tests.dblink_disconnect(c) from unnest(array['setup', 'mentor', 'founder']) c;
select is((select count(*)::int from public.profiles where callsign like 'revoke-race-%')
          + (select count(*)::int from public.skills where name = 'revoke-race-skill')
          + (select count(*)::int from graphile_worker._private_jobs) - (select n from jobs_before), 0,
  'the race leaves nothing committed behind for the rest of the suite');

select * from finish();
rollback;

/*
 * A change enqueued while a worker takes the job waiting under its key is not lost
 * (db/functions/63_voice_rights_live.sql, enqueue_voice_rights). graphile-worker's add_jobs() first moves the key
 * off jobs that are already locked, then inserts ON CONFLICT (key) DO UPDATE … WHERE locked_at IS NULL: a job
 * locked in between is neither updated nor replaced, and the spec is silently dropped. enqueue_voice_rights()
 * adds such a spec again, by which time the job is locked and its key moves to a new job.
 *
 * Three sessions through dblink on a fixture committed through the first and deleted at the end (names start with
 * "race-lane-"): "worker" locks the waiting job as graphile-worker's get_jobs() does and keeps its transaction
 * open; "admin" changes the member's rank, and is seen waiting on that job's row before the worker commits.
 */
begin;
select plan(4);
set local client_min_messages = warning;

create extension if not exists dblink schema tests;
select tests.dblink_connect(c, tests.this_database()) from unnest(array['setup', 'worker', 'admin']) c;
create temporary table fixture on commit drop as
  select * from tests.dblink('setup', $$
    select tests.create_user('race-lane-scout', 'SCOUT'), tests.create_net('race-lane-net', 'SCOUT', 'SCOUT', 'SCOUT')
  $$) as f(scout uuid, net uuid);
select * from tests.dblink('setup', format($$ select tests.join_room('race-lane-net', %L, 'PA_race_lane')::text $$, (select scout from fixture))) as r(id text);
-- A first rank change: its job waits under the member's key.
select tests.dblink_exec('setup', format($$ update public.profiles set rank = 'VOYAGER' where id = %L $$, (select scout from fixture)));
create temporary table lane on commit drop as
  select j.key from graphile_worker._private_jobs j
   where j.locked_at is null and j.payload::jsonb @> jsonb_build_array(jsonb_build_object('member', (select scout from fixture)));
select isnt((select key from lane), null, 'the first change''s job waits under a key');

-- The worker takes that job, still uncommitted; the second change meanwhile.
select tests.dblink_exec('worker', 'begin');
select tests.dblink_exec('worker', format($$
  update graphile_worker._private_jobs set locked_at = now(), locked_by = 'race-lane-worker' where key = %L $$, (select key from lane)));
select tests.dblink_send_query('admin', format($$ update public.profiles /* race-lane */ set rank = 'SCOUT' where id = %L $$, (select scout from fixture)));
select ok(tests.wait_for_lock_wait('race-lane'), 'a rank change enqueued while the worker takes the waiting job waits for it');
select tests.dblink_exec('worker', 'commit');
select * from tests.dblink_get_result('admin') as r(status text);
select * from tests.dblink_get_result('admin') as r(status text);

select results_eq(
  $$ select j.key, j.locked_at is null from graphile_worker._private_jobs j
      where j.payload::jsonb @> jsonb_build_array(jsonb_build_object('change', (
              select max(c.id) from nexus_private.voice_rights_changes c where c.member_id = (select scout from fixture)))) $$,
  $$ select key, true from lane $$,
  'and is not lost: its change is in a new job under the key, waiting');
select results_eq(
  $$ select j.key is null from graphile_worker._private_jobs j where j.locked_by = 'race-lane-worker' $$,
  $$ values (true) $$,
  'while the job the worker took runs without it');

-- Remove what was committed for the race.
select tests.dblink_exec('setup', format($$
  delete from graphile_worker._private_jobs j where j.key = %2$L or j.locked_by = 'race-lane-worker';
  delete from public.voice_presence where room_name = 'race-lane-net';
  delete from nexus_private.voice_rights_changes c where c.member_id = %1$L;
  delete from public.voice_nets where room_name = 'race-lane-net';
  delete from auth.users u where u.id = %1$L
  $$, (select scout from fixture), (select key from lane)));
select tests.dblink_disconnect(c) from unnest(array['setup', 'worker', 'admin']) c;

select * from finish();
rollback;

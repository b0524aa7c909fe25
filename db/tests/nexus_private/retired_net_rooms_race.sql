/*
 * A net's room given up while a join of that room is being applied, in either order: the participant is removed
 * all the same (db/functions/63_voice_rights_live.sql, voice_rights_on_voice_net_rooms).
 *  - The join first: the rename (or delete) waits for it on the presence row's key lock on the net, then sees it.
 *  - The delete first: the join waits on its room's presence lock, which the trigger takes, then finds the room
 *    retired and is removed at the join. Without that lock it would wait on the net's row instead and then fail
 *    on the foreign key to it, and the webhook batch would be retried.
 *
 * The two sides are two sessions opened with dblink, on a fixture committed through a third and deleted at the
 * end (names start with "race-rooms-"). The race is forced: the first side keeps its transaction open, and the
 * second is sent and seen waiting on a lock before the first commits.
 */
begin;
select plan(6);
set local client_min_messages = warning;

create extension if not exists dblink schema tests;
create temporary table jobs_before on commit drop as select count(*)::int as n from graphile_worker._private_jobs;
select tests.dblink_connect(c, tests.this_database()) from unnest(array['setup', 'webhook', 'admin']) c;
create temporary table fixture on commit drop as
  select * from tests.dblink('setup', $$
    select tests.create_user('race-rooms-scout', 'SCOUT'), tests.create_net('race-rooms-a', 'SCOUT'), tests.create_net('race-rooms-b', 'SCOUT')
  $$) as f(scout uuid, net_a uuid, net_b uuid);

/* The join LiveKit reports for the scout in a room, with the rights their token gave. */
create function pg_temp.join_sql(room text) returns text language sql as $$
  select format('select nexus_private.apply_livekit_event(%L)', jsonb_build_object(
    'id', 'ev-' || room, 'event', 'participant_joined', 'room', room, 'createdAt', extract(epoch from now()),
    'participant', jsonb_build_object('identity', (select scout from fixture), 'sid', 'PA_' || room,
      'permission', jsonb_build_object('canSubscribe', true, 'canPublish', true, 'canPublishData', true))))
$$;

-- The join first, still uncommitted; the rename meanwhile.
select tests.dblink_exec('webhook', 'begin');
select * from tests.dblink('webhook', pg_temp.join_sql('race-rooms-a')) as r(outcome text);
select tests.dblink_send_query('admin', $$ update public.voice_nets set room_name = 'race-rooms-a2' where room_name = 'race-rooms-a' $$);
select ok(tests.wait_for_lock_wait('race-rooms-a'), 'a net''s room renamed while a join of it is applied waits for that join');
select tests.dblink_exec('webhook', 'commit');
select * from tests.dblink_get_result('admin') as r(status text);
select * from tests.dblink_get_result('admin') as r(status text);
select results_eq($$ select key from graphile_worker._private_jobs where key = 'voice_rights:net:' || (select net_a from fixture) $$,
  $$ select 'voice_rights:net:' || net_a from fixture $$, 'and then sees the participant: the renamed net''s job is enqueued');
select results_eq($$ select room_name, action from nexus_private.voice_rights_due(null, (select array[net_a] from fixture), null) $$,
  $$ values ('race-rooms-a', 'remove') $$, 'which removes them');

-- The delete first, still uncommitted; the join meanwhile.
select tests.dblink_exec('admin', 'begin');
select tests.dblink_exec('admin', $$ delete from public.voice_nets where room_name = 'race-rooms-b' $$);
select tests.dblink_send_query('webhook', pg_temp.join_sql('race-rooms-b'));
select ok(tests.wait_for_lock_wait('race-rooms-b'), 'a join of a room whose net is being deleted waits for the delete');
select tests.dblink_exec('admin', 'commit');
select * from tests.dblink_get_result('webhook') as r(outcome text);
select * from tests.dblink_get_result('webhook') as r(outcome text);
select results_eq(
  $$ select c.details ->> 'action', j.key from nexus_private.voice_rights_changes c
       join graphile_worker._private_jobs j on j.payload::jsonb @> jsonb_build_array(jsonb_build_object('change', c.id, 'member', c.member_id))
      where c.kind = 'joined_out_of_date' and c.member_id = (select scout from fixture) $$,
  $$ select 'remove', nexus_private.voice_rights_job_key(c.id, c.member_id, null, null) from nexus_private.voice_rights_changes c
      where c.kind = 'joined_out_of_date' and c.member_id = (select scout from fixture) $$,
  'and then finds the room retired: the join itself enqueues their removal');

-- Remove what was committed for the race.
select tests.dblink_exec('setup', format($$
  delete from public.voice_presence where room_name like 'race-rooms-%%';
  delete from public.voice_nets n where n.id = %1$L;
  delete from graphile_worker._private_jobs j where j.key in ('voice_rights:net:' || %1$L, 'voice_rights:net:' || %2$L)
     or j.payload::jsonb @> jsonb_build_array(jsonb_build_object('member', %3$L::text));
  delete from nexus_private.voice_rights_changes c where c.net_id in (%1$L, %2$L) or c.member_id = %3$L;
  delete from nexus_private.retired_net_rooms r where r.room_name like 'race-rooms-%%';
  delete from auth.users u where u.id = %3$L
  $$, (select net_a from fixture), (select net_b from fixture), (select scout from fixture)));
select tests.dblink_disconnect(c) from unnest(array['setup', 'webhook', 'admin']) c;
select is((select count(*)::int from public.profiles where callsign like 'race-rooms-%')
          + (select count(*)::int from public.voice_nets where room_name like 'race-rooms-%')
          + (select count(*)::int from public.voice_presence where room_name like 'race-rooms-%')
          + (select count(*)::int from nexus_private.retired_net_rooms)
          + (select count(*)::int from graphile_worker._private_jobs) - (select n from jobs_before), 0,
  'the race leaves nothing committed behind for the rest of the suite');

select * from finish();
rollback;

begin;
select plan(27);

/* Build a normalised event like core/presence/events.ts does. */
create function pg_temp.ev(kind text, room text, sid text, identity text, at double precision, metadata text default null, id text default null)
returns jsonb language sql as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'id', coalesce(id, kind || ':' || sid || ':' || at), 'event', kind, 'room', room, 'createdAt', at,
    'participant', case when kind <> 'room_finished' then jsonb_build_object('identity', identity, 'sid', sid, 'metadata', metadata) end))
$$;
create function pg_temp.session(room text, sid text) returns public.voice_presence language sql as $$
  select * from public.voice_presence where room_name = room and participant_sid = sid
$$;

select tests.create_net('ops-net', 'SCOUT');
select tests.user_of_rank('SCOUT');

-- join then leave
select is(nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_1', tests.user_of_rank('SCOUT')::text, 1000,
  '{"userId":"x","rank":"SCOUT","callsign":"test-scout"}')), 'opened', 'a join opens a session');
select is((pg_temp.session('ops-net', 'PA_1')).net_id, tests.net('ops-net'), 'the session is tied to the net of its room');
select is((pg_temp.session('ops-net', 'PA_1')).user_id, tests.user_of_rank('SCOUT'), 'an identity that is a member id names the member');
select is((pg_temp.session('ops-net', 'PA_1')).joined_at, to_timestamp(1000), 'joined_at is the event time');
select is((pg_temp.session('ops-net', 'PA_1')).participant_metadata ->> 'rank', 'SCOUT', 'metadata JSON is kept as jsonb');
select is(nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_1', tests.user_of_rank('SCOUT')::text, 1000)),
  'unchanged', 'a redelivered join changes nothing');
select is(nexus_private.apply_livekit_event(pg_temp.ev('participant_left', 'ops-net', 'PA_1', tests.user_of_rank('SCOUT')::text, 1060)),
  'closed', 'a leave closes the session');
select is((pg_temp.session('ops-net', 'PA_1')).left_at, to_timestamp(1060), 'left_at is the leave''s time');
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_1', tests.user_of_rank('SCOUT')::text, 1000));
select is((pg_temp.session('ops-net', 'PA_1')).left_at, to_timestamp(1060), 'an old join arriving after the leave never reopens it');
select is((select count(*)::int from public.voice_presence where participant_sid = 'PA_1'), 1, 'one row per participant session');

-- leave before join
select nexus_private.apply_livekit_event(pg_temp.ev('participant_left', 'ops-net', 'PA_2', 'legacy-name', 2060));
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_2', 'legacy-name', 2000,
  format('{"userId":"%s","rank":"SCOUT"}', tests.user_of_rank('SCOUT'))));
select is((pg_temp.session('ops-net', 'PA_2')).left_at, to_timestamp(2060), 'a leave seen before its join still ends closed');
select is((pg_temp.session('ops-net', 'PA_2')).joined_at, to_timestamp(2000), 'the late join still sets when the session began');
select is((pg_temp.session('ops-net', 'PA_2')).user_id, tests.user_of_rank('SCOUT'),
  'an identity that is not a member id falls back to metadata.userId');

-- connection aborted ends a session like a leave
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_3', 'x', 3000));
select nexus_private.apply_livekit_event(pg_temp.ev('participant_connection_aborted', 'ops-net', 'PA_3', 'x', 3010));
select is((pg_temp.session('ops-net', 'PA_3')).left_reason, 'participant_connection_aborted', 'an aborted connection ends the session');

-- room_finished
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_4', 'a', 4000));
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_5', 'b', 4001));
select is(nexus_private.apply_livekit_event(pg_temp.ev('room_finished', 'ops-net', null, null, 4100)), 'room_closed:2',
  'room_finished closes every open session of the room');
select is((select count(*)::int from public.voice_presence where room_name = 'ops-net' and left_at is null), 0, 'nobody is left on the finished room');
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_6', 'c', 4050));
select is((pg_temp.session('ops-net', 'PA_6')).left_at, to_timestamp(4100), 'a join older than the room''s end, arriving after it, is stored closed');
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_7', 'd', 5000));
select is((pg_temp.session('ops-net', 'PA_7')).left_at, null, 'a join after the room finished (a new room) stays open');

-- rooms that are not nets, and bad events
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'test-room', 'PA_test123', 'test-user-123', 1702050000,
  '{"userId":"uuid-123","role":"Scout"}'));
select is((pg_temp.session('test-room', 'PA_test123')).net_id, null, 'a room that is no net is mirrored with no net');
select is(nexus_private.apply_livekit_event('{"event":"track_published","room":"ops-net","createdAt":1}'), 'ignored', 'other events are ignored');
select throws_ok($$ select nexus_private.apply_livekit_event('{"event":"participant_joined","room":"ops-net","createdAt":1}') $$,
  'NX400', 'BAD_REQUEST', 'a join without a participant is refused');
select throws_ok(format($$ select nexus_private.apply_livekit_event(pg_temp.ev('room_finished', 'ops-net', null, null, %s)) $$,
    extract(epoch from now() + interval '6 minutes')),
  'NX400', 'BAD_REQUEST', 'an event dated more than 5 minutes in the future is refused');
select is((select count(*)::int from nexus_private.room_finishes where finished_at > now()), 0,
  'and a future room_finished leaves nothing behind to close later joins with');
select lives_ok(format($$ select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_clock', 'g', %s)) $$,
    extract(epoch from now() + interval '4 minutes')),
  'an event a few minutes ahead (a LiveKit clock slightly fast) is still applied');

-- sweeps
update public.voice_presence set last_event_at = now() - interval '13 hours' where participant_sid = 'PA_7';
select is((select array_agg(participant_identity order by participant_identity) from nexus_private.close_stale_presence(interval '12 hours')),
  array['d', 'test-user-123'], 'the stale sweep closes the open sessions with no event for longer than the bound, and only those');
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_8', 'e', extract(epoch from now()) - 120));
select nexus_private.apply_livekit_event(pg_temp.ev('participant_joined', 'ops-net', 'PA_9', 'f', extract(epoch from now()) - 120));
select is((select array_agg(participant_identity) from nexus_private.reconcile_room('ops-net', array['PA_9'], now())), array['e'],
  'reconcile closes the sessions LiveKit no longer lists and keeps the ones it does');

-- only the service role applies events
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select nexus_private.apply_livekit_event('{}') $$, '42501', null, 'members cannot write presence events');

select * from finish();
rollback;

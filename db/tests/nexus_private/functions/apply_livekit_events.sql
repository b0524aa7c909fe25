begin;
select plan(7);

/* Build a normalised event like core/presence/events.ts does. */
create function pg_temp.ev(kind text, room text, sid text, at double precision) returns jsonb language sql as $$
  select jsonb_build_object('id', kind || ':' || sid || ':' || at, 'event', kind, 'room', room, 'createdAt', at,
    'participant', jsonb_build_object('identity', 'guest-' || sid, 'sid', sid))
$$;

select tests.create_net('batch-net', 'SCOUT');

-- A batch out of order, with a redelivery and an ignored kind: the same end state as one by one.
select is(nexus_private.apply_livekit_events(jsonb_build_array(
  pg_temp.ev('participant_left', 'batch-net', 'PA_b1', 1010),
  pg_temp.ev('participant_joined', 'batch-net', 'PA_b2', 1005),
  pg_temp.ev('participant_joined', 'batch-net', 'PA_b1', 1000),
  pg_temp.ev('participant_joined', 'batch-net', 'PA_b1', 1000),
  jsonb_build_object('id', 'EV_t', 'event', 'track_published', 'room', 'batch-net', 'createdAt', 1001))), 5,
  'every event of the batch is applied (an ignored kind counts as applied)');
select is((select (joined_at, left_at) from public.voice_presence where participant_sid = 'PA_b1'), (to_timestamp(1000), to_timestamp(1010)),
  'a leave before its join in the same batch still ends closed, joined at the join');
select is((select left_at from public.voice_presence where participant_sid = 'PA_b2'), null, 'the other session is open');
select is((select count(*)::int from public.voice_presence where participant_sid like 'PA\_b%'), 2, 'one row per session');

select throws_ok($$ select nexus_private.apply_livekit_events(jsonb_build_array(
    pg_temp.ev('participant_joined', 'batch-net', 'PA_b3', 1020), '{"event": "participant_joined", "createdAt": 1}'::jsonb)) $$,
  'NX400', null, 'one event that cannot be applied fails the batch (the worker then applies it event by event)');
select is((select count(*)::int from public.voice_presence where participant_sid = 'PA_b3'), 0, 'and the batch wrote nothing');

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select nexus_private.apply_livekit_events('[]') $$, '42501', null, 'members cannot write presence events');

select * from finish();
rollback;

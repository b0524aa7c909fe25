begin;
select plan(9);

select tests.create_net('open-net', 'VAGRANT');
select tests.create_net('scout-net', 'SCOUT');
select tests.create_net('squad-net', 'VAGRANT', null, null, tests.create_squad('Red', array[tests.user_of_rank('AFFILIATE')]));

create function pg_temp.join(room text, sid text, who uuid) returns text language sql as $$
  select nexus_private.apply_livekit_event(jsonb_build_object('id', sid, 'event', 'participant_joined', 'room', room,
    'createdAt', extract(epoch from now()), 'participant', jsonb_build_object('identity', who::text, 'sid', sid)))
$$;
select pg_temp.join('open-net', 'S1', tests.user_of_rank('SCOUT'));
select pg_temp.join('scout-net', 'S2', tests.user_of_rank('SCOUT'));
select pg_temp.join('squad-net', 'S3', tests.user_of_rank('AFFILIATE'));
select pg_temp.join('sim-pod-1', 'S4', tests.user_of_rank('VAGRANT'));

select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is((select array_agg(participant_sid order by participant_sid) from public.voice_presence), array['S1', 'S4'],
  'a VAGRANT sees presence on nets they may join, and their own sessions');
select is((select array_agg(callsign::text) from public.net_roster()), array['test-scout'],
  'the roster shows who is on the nets the caller may join, with callsign');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is((select array_agg(participant_sid order by participant_sid) from public.voice_presence), array['S1', 'S2'],
  'a SCOUT sees the SCOUT net but not a squad net they are not in');
select is((select rank from public.net_roster(tests.net('scout-net'))), 'SCOUT'::public.rank, 'the roster gives each member''s rank');
select throws_ok($$ insert into public.voice_presence (room_name, participant_identity, participant_sid, joined_at) values ('x', 'y', 'z', now()) $$,
  '42501', null, 'members cannot insert presence');
select throws_ok($$ update public.voice_presence set left_at = now() $$, '42501', null, 'members cannot close presence');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select ok((select bool_or(participant_sid = 'S3') from public.voice_presence), 'a squad member sees their squad net');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is((select count(*)::int from public.voice_presence), 3, 'a FOUNDER sees every net, squad nets included');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.voice_presence $$, '42501', null, 'anon sees no presence');

select * from finish();
rollback;

begin;
select plan(13);

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

-- Every rank on a net of every join gate, and another member's session: seen exactly where can_join_net says.
reset role;
select tests.create_net('gate-' || lower(g::text), g) from unnest(enum_range(null::public.rank)) g;
select pg_temp.join('gate-' || lower(g::text), 'G-' || g, tests.create_user('on-' || lower(g::text), 'PIONEER'))
  from unnest(enum_range(null::public.rank)) g;
create temp table seen (rank public.rank, gate public.rank, visible boolean) on commit drop;
grant all on seen to public;
select tests.as_each_rank($$
  insert into seen select $1, g, exists (select 1 from public.voice_presence where participant_sid = 'G-' || g)
    from unnest(enum_range(null::public.rank)) g
$$);
select results_eq($$ select rank, gate, visible from seen order by 1, 2 $$,
  $$ select r, g, r >= g from unnest(enum_range(null::public.rank)) r, unnest(enum_range(null::public.rank)) g order by 1, 2 $$,
  'every rank sees another member''s session on a net exactly when its rank meets the net''s join gate');

-- One's own session stays visible on a net one may no longer join (history), another member's does not.
select pg_temp.join('founders-only', 'OWN', tests.user_of_rank('VAGRANT'));
select tests.create_net('founders-only', 'FOUNDER');
select pg_temp.join('founders-only', 'OTHER', tests.user_of_rank('SCOUT'));
update public.voice_presence set net_id = tests.net('founders-only') where room_name = 'founders-only';
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is((select array_agg(participant_sid order by participant_sid) from public.voice_presence where room_name = 'founders-only'),
  array['OWN'], 'a VAGRANT sees their own session on a FOUNDER net, not another member''s');
reset role;
select tests.authenticate_as(gen_random_uuid());
select is((select count(*)::int from public.voice_presence), 0, 'a token whose member is gone sees no presence');
reset role;

-- The nets are asked for once per statement (a hashed subplan), not once per row.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
create function pg_temp.plan() returns text language plpgsql as $$
declare
  line text;
  whole text := '';
begin
  for line in execute 'explain select count(*) from public.voice_presence' loop
    whole := whole || line || E'\n';
  end loop;
  return whole;
end
$$;
select ok(pg_temp.plan() ~ 'hashed SubPlan' and pg_temp.plan() !~ 'can_join_net',
  'the presence policy checks each row against the caller''s nets as a hashed set, with no function call per row');
reset role;

select * from finish();
rollback;

begin;
select plan(6);

/*
 * unlink_voice_nets() by rank, and service_role on both: every rank below FOUNDER is refused unbridging (not only
 * a SCOUT); FOUNDER and PIONEER unbridge; service_role (operators) bridges and unbridges any nets, even ones no
 * FOUNDER may join, and is audited as such.
 */
select tests.create_net('a-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
select tests.create_net('b-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
insert into public.voice_net_bridges (source_net_id, target_net_id)
select tests.net('a-' || lower(r::text)), tests.net('b-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
select tests.create_net('pioneers', 'PIONEER');
select tests.create_net('red-net', squad => tests.create_squad('Red'));

create temp table outcomes (rank public.rank, outcome text) on commit drop;
grant all on outcomes to public;
select tests.as_each_rank($$
  insert into outcomes select $1, tests.affected(format('select public.unlink_voice_nets(%L, %L)',
    tests.net('a-' || lower($1::text)), tests.net('b-' || lower($1::text))))
$$);
select results_eq($$ select rank, outcome from outcomes order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', 'refused NX403', '1 rows') $$,
  'every rank below FOUNDER is refused unbridging nets (INSUFFICIENT_CLEARANCE); FOUNDER and PIONEER unbridge');
select set_eq($$ select n.room_name from public.voice_net_bridges b join public.voice_nets n on n.id = b.source_net_id $$,
  array['a-vagrant', 'a-affiliate', 'a-scout', 'a-voyager'], 'the bridges the lower ranks tried to remove are all still there');

select tests.authenticate_as_service();
select is((select target_net_id from public.link_voice_nets(tests.net('pioneers'), tests.net('red-net'))), tests.net('red-net'),
  'service_role bridges a PIONEER net to a squad net, which no FOUNDER outside the squad could');
select is((select source_net_id from public.unlink_voice_nets(tests.net('red-net'), tests.net('pioneers'))), tests.net('pioneers'),
  'and unbridges it');
reset role;
select results_eq($$ select actor_role, action from nexus_private.audit_log
                      where action like 'voice_net.%' and details ->> 'source_net_id' = tests.net('pioneers')::text order by id $$,
  $$ values ('service_role', 'voice_net.bridged'), ('service_role', 'voice_net.unbridged') $$,
  'both are audited as service_role');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok(format($$ select public.link_voice_nets(%L, %L) $$, tests.net('pioneers'), tests.net('a-vagrant')),
  'NX403', 'INSUFFICIENT_CLEARANCE', 'while a FOUNDER may not bridge the PIONEER net');
reset role;

select * from finish();
rollback;

begin;
select plan(9);

/*
 * nexus_private.joinable_nets(): can_join_net for every net at once (the presence policy's set), so it must say
 * exactly what can_join_net says, for every rank, every join gate and squad nets, and nothing for anon or a
 * member who no longer exists.
 */
select tests.create_net('join-' || lower(g::text), g) from unnest(enum_range(null::public.rank)) g;
select tests.create_net('red-net', 'AFFILIATE', squad => tests.create_squad('Red', array[
  tests.create_user('red-lead', 'SCOUT'), tests.create_user('red-rookie', 'VAGRANT')]));

create temp table members (who uuid, label text) on commit drop;
insert into members select tests.user_of_rank(r), r::text from unnest(enum_range(null::public.rank)) r;
insert into members select id, callsign from public.profiles where callsign in ('red-lead', 'red-rookie');
create temp table nets on commit drop as select id from public.voice_nets;
create temp table outcomes (label text, net uuid, by_set boolean, by_function boolean) on commit drop;
grant all on members, nets, outcomes to public;

do $$
declare
  m record;
begin
  for m in select * from members loop
    perform tests.authenticate_as(m.who);
    insert into outcomes
    select m.label, n.id, n.id in (select nexus_private.joinable_nets()), public.can_join_net(n.id)
      from nets n;
    reset role;
  end loop;
end
$$;

select is((select count(*)::int from outcomes where by_set is distinct from by_function), 0,
  'for every rank (and a squad member of each kind) and every net, joinable_nets says what can_join_net says');
select is((select count(*)::int from outcomes), 8 * 7, 'every member (six ranks, two squad members) was asked about every net');
select is((select count(*)::int from outcomes where label = 'VAGRANT' and by_set), 1, 'a VAGRANT may join the VAGRANT-gated net only');
select is((select count(*)::int from outcomes where label = 'PIONEER' and by_set), 7, 'a PIONEER may join every net, the squad net included');
select ok((select by_set from outcomes where label = 'red-lead' and net = tests.net('red-net')), 'a squad member within the gate gets the squad net');
select ok(not (select by_set from outcomes where label = 'VOYAGER' and net = tests.net('red-net')), 'a VOYAGER outside the squad does not');

-- Another member's token whose profile is gone: no one.
select tests.authenticate_as(gen_random_uuid());
select is((select count(*)::int from nexus_private.joinable_nets()), 0, 'a token naming no member joins no net');
reset role;

select tests.clear_authentication();
select throws_ok($$ select * from nexus_private.joinable_nets() $$, '42501', null, 'anon may not call it');
reset role;

select is((select provolatile::text || prosecdef::text from pg_proc where oid = 'nexus_private.joinable_nets()'::regprocedure), 'strue',
  'joinable_nets is stable and security definer, so a policy can call it without seeing voice_nets through RLS');

select * from finish();
rollback;

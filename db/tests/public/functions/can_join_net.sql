begin;
select plan(9);

/*
 * can_join_net(): the single join rule (DESIGN.md §3), which other tables' policies (presence) reuse.
 * Every rank × every join gate, then squad nets.
 */
create temp table outcomes (rank public.rank, gate public.rank, allowed boolean) on commit drop;
grant all on outcomes to public;
select tests.create_net('join-' || lower(g::text), g) from unnest(enum_range(null::public.rank)) g;

do $$
declare
  r public.rank;
  g public.rank;
begin
  foreach r in array enum_range(null::public.rank) loop
    foreach g in array enum_range(null::public.rank) loop
      perform tests.authenticate_as(tests.user_of_rank(r));
      insert into outcomes values (r, g, public.can_join_net(tests.net('join-' || lower(g::text))));
      reset role;
    end loop;
  end loop;
end
$$;
select results_eq(
  $$ select rank, gate, allowed from outcomes order by 1, 2 $$,
  $$ select r, g, r >= g from unnest(enum_range(null::public.rank)) r, unnest(enum_range(null::public.rank)) g order by 1, 2 $$,
  'for every rank and every join gate, a member may join exactly when their rank is at least the gate');

-- Squad nets: the squad's members (within the rank gate) and FOUNDER+, nobody else.
select tests.create_net('red-net', 'AFFILIATE', squad => tests.create_squad('Red', array[
  tests.create_user('red-lead', 'SCOUT'), tests.create_user('red-rookie', 'VAGRANT')]));

select tests.authenticate_as((select id from public.profiles where callsign = 'red-lead'));
select ok(public.can_join_net(tests.net('red-net')), 'a squad member whose rank meets the gate may join the squad net');
reset role;
select tests.authenticate_as((select id from public.profiles where callsign = 'red-rookie'));
select ok(not public.can_join_net(tests.net('red-net')), 'squad membership does not lift a member over the rank gate');
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select ok(not public.can_join_net(tests.net('red-net')), 'a VOYAGER outside the squad may not join the squad net');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select ok(public.can_join_net(tests.net('red-net')), 'a FOUNDER outside the squad may join the squad net');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select ok(public.can_join_net(tests.net('red-net')), 'a PIONEER outside the squad may join the squad net');
select ok(not public.can_join_net(gen_random_uuid()), 'an unknown net cannot be joined');
reset role;

select tests.clear_authentication();
select ok(not public.can_join_net(tests.net('join-vagrant')), 'anon may join no net, not even an open one');
reset role;

select is((select provolatile::text || prosecdef::text from pg_proc where oid = 'public.can_join_net(uuid)'::regprocedure), 'strue',
  'can_join_net is stable and security definer, so other tables'' policies can call it');

select * from finish();
rollback;

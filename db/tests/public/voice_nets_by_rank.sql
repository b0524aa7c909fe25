begin;
select plan(9);

/*
 * voice_nets, the writes by rank: every rank below FOUNDER is refused creating a net and edits and deletes none,
 * even a net open to all; FOUNDER and PIONEER do all three. Leading the squad a net is tied to gives no write
 * either; anon holds no grant.
 */
select tests.create_net('edit-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
select tests.create_net('drop-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
select tests.create_net('red-net', squad => tests.create_squad('Red', array[tests.create_user('red-lead', 'VOYAGER')]));

create temp table outcomes (rank public.rank, action text, outcome text) on commit drop;
grant all on outcomes to public;
select tests.as_each_rank($$
  insert into outcomes values
    ($1, 'create', tests.affected(format('insert into public.voice_nets (name, room_name) values (%L, %L)', 'New ' || $1, 'new-' || lower($1::text)))),
    ($1, 'edit', tests.affected(format('update public.voice_nets set description = %L where room_name = %L', 'edited by ' || $1, 'edit-' || lower($1::text)))),
    ($1, 'delete', tests.affected(format('delete from public.voice_nets where room_name = %L', 'drop-' || lower($1::text))))
$$);
select results_eq($$ select rank, outcome from outcomes where action = 'create' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', 'refused 42501', '1 rows') $$,
  'every rank below FOUNDER is refused creating a net; FOUNDER and PIONEER create one');
select results_eq($$ select rank, outcome from outcomes where action = 'edit' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$,
  'every rank below FOUNDER edits no net, not even one they may join; FOUNDER and PIONEER edit one');
select results_eq($$ select rank, outcome from outcomes where action = 'delete' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$,
  'every rank below FOUNDER deletes no net; FOUNDER and PIONEER delete one');
select results_eq($$ select room_name from public.voice_nets where room_name like 'drop-%' or description is not null order by 1 $$,
  $$ values ('drop-affiliate'), ('drop-scout'), ('drop-vagrant'), ('drop-voyager'), ('edit-founder'), ('edit-pioneer') $$,
  'the lower ranks'' nets are all still there, and only FOUNDER''s and PIONEER''s edits are stored');

-- The LEAD of the squad a net is tied to (a VOYAGER) may join it, and still writes nothing on it.
select tests.authenticate_as(tests.member('red-lead'));
select is((select count(*)::int from public.voice_nets where room_name = 'red-net'), 1, 'the squad''s LEAD sees the squad''s net');
select is(tests.affected($$ update public.voice_nets set name = 'Red command' where room_name = 'red-net' $$), '0 rows',
  'but cannot rename it');
select is(tests.affected($$ delete from public.voice_nets where room_name = 'red-net' $$), '0 rows', 'nor delete it');
reset role;

select tests.clear_authentication();
select is(tests.affected($$ insert into public.voice_nets (name, room_name) values ('Anon', 'anon-net') $$), 'refused 42501',
  'anon cannot create a net');
select is(tests.affected($$ delete from public.voice_nets $$), 'refused 42501', 'anon cannot delete a net');
reset role;

select * from finish();
rollback;

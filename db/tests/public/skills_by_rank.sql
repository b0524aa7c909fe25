begin;
select plan(8);

/*
 * skills, the writes by rank: every rank below FOUNDER is refused adding and editing a skill; FOUNDER and PIONEER
 * add and edit them; nobody rewrites a skill's id; anon holds no grant.
 */
select tests.create_skill('Mining');
select tests.create_skill('Edit ' || r) from unnest(enum_range(null::public.rank)) r;

create temp table outcomes (rank public.rank, action text, outcome text) on commit drop;
grant all on outcomes to public;
select tests.as_each_rank($$
  insert into outcomes values
    ($1, 'add', tests.affected(format('insert into public.skills (name, category) values (%L, ''Industry'')', 'Added ' || $1))),
    ($1, 'edit', tests.affected(format('update public.skills set description = %L where name = %L', 'edited by ' || $1, 'Edit ' || $1)))
$$);
select results_eq($$ select rank, outcome from outcomes where action = 'add' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', 'refused 42501', '1 rows') $$,
  'every rank below FOUNDER is refused adding a skill; FOUNDER and PIONEER add one');
select results_eq($$ select rank, outcome from outcomes where action = 'edit' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$,
  'every rank below FOUNDER edits no skill; FOUNDER and PIONEER edit one');
select results_eq($$ select name, description from public.skills where description is not null order by 1 $$,
  $$ values ('Edit FOUNDER', 'edited by FOUNDER'), ('Edit PIONEER', 'edited by PIONEER') $$,
  'only the FOUNDER''s and the PIONEER''s edits are stored');

-- A FOUNDER edits any column members may write; the id is not one of them.
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is(tests.affected($$ update public.skills set name = 'Mining and salvage' where name = 'Mining' $$), '1 rows',
  'a FOUNDER renames a skill');
select is(tests.affected($$ update public.skills set id = gen_random_uuid() where name = 'Mining and salvage' $$), 'refused 42501',
  'nobody rewrites a skill''s id, not even a FOUNDER');
reset role;

select tests.clear_authentication();
select is(tests.affected($$ insert into public.skills (name) values ('Anon') $$), 'refused 42501', 'anon cannot add a skill');
select is(tests.affected($$ update public.skills set description = 'anon' $$), 'refused 42501', 'anon cannot edit a skill');
select is(tests.affected($$ delete from public.skills $$), 'refused 42501', 'anon cannot delete a skill');
reset role;

select * from finish();
rollback;

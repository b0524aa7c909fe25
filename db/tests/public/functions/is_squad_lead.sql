begin;
select plan(2);

/*
 * is_squad_lead(): the question the squad and roster policies ask. True only for a LEAD of that very squad:
 * not for its plain members, not for another squad's LEAD, not for FOUNDER+ as such (the policies add FOUNDER+
 * themselves), not for anon or service_role, and nobody leads a squad that does not exist.
 */
select tests.create_squad('Red', array[tests.create_user('red-lead', 'SCOUT'), tests.create_user('red-one', 'PIONEER')]);
select tests.create_squad('Blue', array[tests.create_user('blue-lead', 'VOYAGER')]);

create temp table red on commit drop as select id from public.squads where name = 'Red';
create temp table asked (caller text, leads_red boolean, leads_nothing boolean) on commit drop;
grant all on red, asked to public;
/* Ask as a member, or as anon (no member) or service_role; back to the superuser afterwards. */
create function pg_temp.ask(caller text, member uuid default null, service boolean default false) returns void language plpgsql as $$
begin
  if service then
    perform tests.authenticate_as_service();
  elsif member is null then
    perform tests.clear_authentication();
  else
    perform tests.authenticate_as(member);
  end if;
  insert into asked select caller, public.is_squad_lead((select id from red)), public.is_squad_lead(gen_random_uuid());
  reset role;
end
$$;
grant execute on function pg_temp.ask(text, uuid, boolean) to public;

select pg_temp.ask(c, tests.member(c)) from unnest(array['red-lead', 'red-one', 'blue-lead']) c;
select pg_temp.ask('a FOUNDER outside Red', tests.user_of_rank('FOUNDER'));
select pg_temp.ask('anon');
select pg_temp.ask('service_role', service => true);

select results_eq($$ select caller, leads_red from asked order by caller $$,
  $$ values ('a FOUNDER outside Red', false), ('anon', false), ('blue-lead', false), ('red-lead', true), ('red-one', false),
            ('service_role', false) $$,
  'only Red''s LEAD leads Red: not a plain MEMBER (a PIONEER), not Blue''s LEAD, a FOUNDER, anon or service_role');
select is_empty($$ select caller from asked where leads_nothing $$, 'nobody leads a squad that does not exist');

select * from finish();
rollback;

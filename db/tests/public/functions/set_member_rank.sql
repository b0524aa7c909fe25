begin;
select plan(12);

/*
 * Promotion (DESIGN.md §2): a member may set another member's rank to at most one step below their own, never
 * their own, and only while the target's current rank is below theirs. Checked for every caller rank × target
 * rank × new rank, then a few cases spelled out.
 */
create temp table outcomes (caller public.rank, target public.rank, wanted public.rank, allowed boolean) on commit drop;
grant all on outcomes to public;

do $$
declare
  ladder public.rank[] := enum_range(null::public.rank);
  c public.rank; t public.rank; w public.rank;
  target_id uuid;
  ok boolean;
begin
  foreach c in array ladder loop
    foreach t in array ladder loop
      foreach w in array ladder loop
        target_id := tests.create_user('m-' || substr(md5(random()::text), 1, 12), t);
        perform tests.authenticate_as(tests.user_of_rank(c));
        begin
          perform public.set_member_rank(target_id, w);
          ok := true;
        exception when sqlstate 'NX403' then
          ok := false;
        end;
        reset role;
        insert into outcomes values (c, t, w, ok);
      end loop;
    end loop;
  end loop;
end
$$;

select is((select count(*)::int from outcomes), 216, 'every caller × target × new rank combination was tried');
select results_eq(
  $$ select caller, target, wanted, allowed from outcomes order by 1, 2, 3 $$,
  $$ select c.r, t.r, w.r,
            array_position(enum_range(null::public.rank), t.r) < array_position(enum_range(null::public.rank), c.r)
        and array_position(enum_range(null::public.rank), w.r) <= array_position(enum_range(null::public.rank), c.r) - 1
       from unnest(enum_range(null::public.rank)) c(r), unnest(enum_range(null::public.rank)) t(r), unnest(enum_range(null::public.rank)) w(r)
      order by 1, 2, 3 $$,
  'a rank change is allowed exactly when the target is below the caller and the new rank is at most one step below the caller');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is((public.set_member_rank(tests.user_of_rank('SCOUT'), 'VOYAGER')).rank, 'VOYAGER'::public.rank,
  'a FOUNDER may promote a SCOUT to VOYAGER');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ select public.set_member_rank(tests.user_of_rank('VOYAGER'), 'FOUNDER') $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a FOUNDER may not raise anyone to FOUNDER');
select throws_ok($$ select public.set_member_rank(auth.uid(), 'PIONEER') $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'nobody may change their own rank');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.set_member_rank(tests.user_of_rank('VOYAGER'), 'VAGRANT') $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a SCOUT may not demote a higher rank');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select public.set_member_rank(tests.user_of_rank('AFFILIATE'), 'VAGRANT') $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a VAGRANT may change nobody''s rank');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select public.set_member_rank(gen_random_uuid(), 'SCOUT') $$,
  'NX404', 'NOT_FOUND', 'an unknown member is NOT_FOUND');
reset role;
select tests.clear_authentication();
select throws_ok($$ select public.set_member_rank(tests.user_of_rank('SCOUT'), 'VAGRANT') $$,
  '42501', null, 'anon may not call set_member_rank at all');

reset role;
select tests.authenticate_as_service();
select is((public.set_member_rank(tests.user_of_rank('SCOUT'), 'PIONEER')).rank, 'PIONEER'::public.rank,
  'service_role (operators) may set any rank');

reset role;
select ok(exists(select 1 from nexus_private.audit_log where action = 'member.rank_changed'
  and details ->> 'member_id' = tests.user_of_rank('SCOUT')::text and details ->> 'to' = 'VOYAGER'
  and actor_id = tests.user_of_rank('FOUNDER')), 'a rank change is audited with who made it');
select ok(exists(select 1 from nexus_private.audit_log where action = 'member.rank_changed' and actor_role = 'service_role'),
  'an operator''s rank change is audited as service_role');

select * from finish();
rollback;

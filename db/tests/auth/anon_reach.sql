/*
 * What anon (a request with no JWT) may reach, from the catalog: the functions it may execute are exactly the
 * list below, it holds no privilege on any table, view or sequence, and every function granted to service_role
 * alone (the worker's and operators' tools) is refused to anon and to a member when they call it. A new grant to
 * anon or to service_role fails this test until it is added here.
 */
begin;
select plan(5);

create temp table reach (role text, fn regprocedure) on commit drop;
insert into reach
select r, p.oid from pg_proc p join pg_namespace n on n.oid = p.pronamespace, unnest(array['anon', 'authenticated', 'service_role']) r
 where n.nspname in ('public', 'auth', 'nexus_private')
   and has_function_privilege(r, p.oid, 'execute')
   and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');
grant select on reach to public;

select set_eq($$ select fn::text from reach where role = 'anon' $$, array[
  -- identity helpers and the sign-in path
  'auth.jwt()', 'auth.uid()', 'auth.role()', 'auth.rank()', 'auth.is_service()', 'auth.session_id()', 'auth.session_ended()',
  'auth.sign_in(text,text,text,text)', 'auth.register(text,text,text,text,text)', 'auth.refresh_session(text)',
  'nexus_private.require_member(text)', 'nexus_private.require_rank(rank,text)',
  -- pure, or nothing for a caller without a member
  'parse_rank(text)', 'parse_flare_type(text)', 'nexus_private.fail(text,text)', 'nexus_private.fail(text,text,text)',
  'nexus_private.fail_rate_limited(text,integer)', 'nexus_private.rate_limit_setting(text,integer)',
  'nexus_private.rate_limit_message(text,double precision,double precision,integer)', 'nexus_private.as_uuid(text)',
  'nexus_private.take_rate_limit(text,integer)',
  -- refuse anon themselves (UNAUTHENTICATED, INSUFFICIENT_CLEARANCE) or answer false / nothing
  'can_join_net(uuid)', 'is_squad_lead(uuid)', 'is_mentor_of(uuid)', 'voice_access(text)', 'issue_voice_grants(text[])',
  'link_voice_nets(uuid,uuid)', 'unlink_voice_nets(uuid,uuid)', 'open_rescue_flares()',
  'job_queue_stats()', 'failed_jobs(text)', 'retry_jobs(bigint[])', 'discard_jobs(bigint[])', 'cron_schedule()'
], 'anon may execute exactly these functions');

select is_empty($$ select fn::text from reach a where role = 'anon'
                    and not exists (select 1 from reach m where m.role = 'authenticated' and m.fn = a.fn) $$,
  'anon may execute nothing a member may not');

select is_empty($$
  select c.oid::regclass::text, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ('public', 'auth', 'nexus_private') and c.relkind in ('r', 'v', 'm', 'p', 'f', 'S')
     and (has_table_privilege('anon', c.oid, 'select, insert, update, delete, truncate, references, trigger')
          or (c.relkind = 'S' and has_sequence_privilege('anon', c.oid, 'usage, select, update')))
$$, 'anon holds no privilege on any table, view or sequence');

-- service_role alone: called as a member and as anon, each is refused before it runs. The null arguments are
-- subqueries, not constants: the planner folds a strict function of a constant null to null without calling it.
create temp table calls (role text, fn text, outcome text) on commit drop;
grant all on calls to public;
create temp table service_only on commit drop as
select s.fn::text as fn,
       format('select %s(%s)', s.fn::oid::regproc,
              (select coalesce(string_agg('(select null::' || format_type(t, null) || ')', ', '), '') from unnest(p.proargtypes) t)) as call
  from reach s join pg_proc p on p.oid = s.fn
 where s.role = 'service_role' and not exists (select 1 from reach m where m.role = 'authenticated' and m.fn = s.fn);
grant select on service_only to public;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
insert into calls select 'PIONEER', fn, tests.affected(call) from service_only;
reset role;
select tests.clear_authentication();
insert into calls select 'anon', fn, tests.affected(call) from service_only;
reset role;
select ok((select count(*) from service_only) >= 30, 'the worker''s and operators'' tools are granted to service_role alone');
select is_empty($$ select role, fn, outcome from calls where outcome <> 'refused 42501' $$,
  'a PIONEER and anon are refused every one of them (42501)');

select * from finish();
rollback;

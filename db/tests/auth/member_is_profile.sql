/*
 * A member is a profile: a valid JWT whose `sub` has no profile (a deleted member) is anon to every table and
 * every function a member can reach. The lists of tables and functions come from the catalog, so a new one that
 * a member may reach fails this test until it is added here with its ghost check.
 */
begin;
select plan(70);

/* What a statement gives the caller: 'empty', 'nothing' (only nulls, falses, zeros), 'refused <SQLSTATE>' or the rows. */
create function pg_temp.outcome(statement text) returns text language plpgsql as $$
declare
  result jsonb;
begin
  execute format('select coalesce(jsonb_agg(to_jsonb(q)), ''[]'') from (%s) q', statement) into result;
  if result = '[]' then
    return 'empty';
  end if;
  if not exists (select 1 from jsonb_array_elements(result) r, jsonb_each(r.value) f
                  where f.value not in ('null', 'false', '0', '[]', '{}', '""')) then
    return 'nothing';
  end if;
  return 'rows ' || result::text;
exception when others then
  return 'refused ' || sqlstate;
end
$$;
/* Every public table a member may SELECT, with how many rows the caller sees in it. */
create function pg_temp.visible_rows() returns table (tbl text, n bigint) language plpgsql as $$
declare
  t record;
begin
  for t in select c.oid::regclass::text as name from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
            where ns.nspname = 'public' and c.relkind in ('r', 'v', 'p')
              and has_table_privilege('authenticated', c.oid, 'select') order by 1 loop
    tbl := t.name;
    execute format('select count(*) from %s', t.name) into n;
    return next;
  end loop;
end
$$;
grant execute on function pg_temp.outcome(text), pg_temp.visible_rows() to public;

-- Fixtures: a ghost who was a FOUNDER, squad lead, mentor, subscriber and requester; one living member of each rank.
select tests.create_user('Ghost', 'FOUNDER');
create temp table ids on commit drop as
select tests.member('Ghost') as ghost, tests.user_of_rank('VAGRANT') as vagrant, tests.user_of_rank('SCOUT') as scout,
       tests.user_of_rank('PIONEER') as pioneer, tests.create_skill('Piloting') as skill,
       tests.create_net('ghost-net') as net, tests.create_net('other-net') as net2;
grant select on ids to public;
select tests.create_squad('Ghost Squad', array[(select ghost from ids), (select vagrant from ids)]);
select tests.certify((select ghost from ids), (select skill from ids));
select tests.certify((select pioneer from ids), (select skill from ids));
select tests.subscribe((select vagrant from ids));
select tests.subscribe((select ghost from ids));
create temp table refs on commit drop as select
  tests.request_training((select vagrant from ids), (select skill from ids)) as request,
  (select id from public.squads where name = 'Ghost Squad') as squad;
grant select on refs to public;
select tests.authenticate_as((select scout from ids));
create temp table flare on commit drop as select (public.fire_rescue_flare('Stanton L2', 'MEDICAL')).id;
reset role;
grant select on flare to public;
insert into public.voice_presence (room_name, net_id, participant_identity, participant_sid, user_id, joined_at)
values ('ghost-net', (select net from ids), (select vagrant from ids)::text, 'PA_ghost', (select vagrant from ids), now());

-- The member is deleted (their profile goes; auth.users and any JWT they hold remain).
delete from public.profiles where id = (select ghost from ids);

-- Tables ----------------------------------------------------------------------------------------------------
select tests.authenticate_as((select vagrant from ids));
select set_eq($$ select tbl from pg_temp.visible_rows() where n > 0 $$,
  array['profiles', 'push_subscriptions', 'rescue_flares', 'skills', 'squads', 'squad_members', 'mentor_certifications',
        'voice_nets', 'academy_requests', 'voice_presence'],
  'a living VAGRANT sees rows in these tables (the fixtures are real)');
select tests.authenticate_as((select ghost from ids));
select is_empty($$ select * from pg_temp.visible_rows() where n > 0 $$,
  'a deleted member''s JWT sees no row of any table a member may read');
select is(auth.uid(), null, 'auth.uid() is null for a sub without a profile');
select is(auth.rank(), null, 'auth.rank() is null for a sub without a profile');
select is(auth.role(), 'anon', 'auth.role() is anon for a sub without a profile');
select is(auth.session_id(), null, 'auth.session_id() is null for a sub without a profile');
select throws_ok($$ select nexus_private.require_member('haunt') $$, 'NX401', 'UNAUTHENTICATED', 'require_member refuses the ghost');
select throws_ok($$ select nexus_private.require_rank('VAGRANT', 'haunt') $$, 'NX401', 'UNAUTHENTICATED', 'require_rank refuses the ghost');
select is(tests.affected($$ update public.profiles set callsign = 'Haunt' $$), '0 rows', 'the ghost updates no profile');
select is(tests.affected($$ insert into public.squads (name) values ('Phantoms') $$), 'refused 42501', 'the ghost (once FOUNDER) creates no squad');
select is(tests.affected($$ update public.squads set name = 'Haunted' $$), '0 rows', 'the ghost (once lead) renames no squad');
select is(tests.affected($$ delete from public.squads $$), '0 rows', 'the ghost deletes no squad');
select is(tests.affected($$ insert into public.squad_members (squad_id, user_id, role) select squad, (select scout from ids), 'MEMBER' from refs $$),
  'refused 42501', 'the ghost adds no squad member');
select is(tests.affected($$ delete from public.squad_members $$), '0 rows', 'the ghost removes no squad member');
select is(tests.affected($$ insert into public.voice_nets (name, room_name) values ('Haunt', 'haunt') $$), 'refused 42501', 'the ghost creates no net');
select is(tests.affected($$ update public.voice_nets set name = 'Haunt' $$), '0 rows', 'the ghost renames no net');
select is(tests.affected($$ delete from public.voice_nets $$), '0 rows', 'the ghost deletes no net');
select is(tests.affected($$ insert into public.skills (name) values ('Haunting') $$), 'refused 42501', 'the ghost adds no skill');
select is(tests.affected($$ update public.skills set name = 'Haunting' $$), '0 rows', 'the ghost renames no skill');
select is(tests.affected($$ delete from public.push_subscriptions $$), '0 rows', 'the ghost deletes no subscription');

-- Functions: the catalog's list, so a new one cannot slip past ------------------------------------------------
reset role;
select set_eq($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'auth', 'nexus_private')
     and has_function_privilege('authenticated', p.oid, 'execute')
     and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
$$, array[
  -- identity helpers, checked above and below
  'auth.jwt()', 'auth.uid()', 'auth.role()', 'auth.rank()', 'auth.is_service()', 'auth.session_id()',
  'auth.session_ended()', -- reads the session_id claim only, never the sub
  'nexus_private.require_member(text)', 'nexus_private.require_rank(rank,text)',
  -- anon may call these too: the ghost gets what anon gets
  'auth.sign_in(text,text,text,text)', 'auth.register(text,text,text,text,text)', 'auth.refresh_session(text)',
  -- pure: same answer for every caller, nothing read about them
  'parse_rank(text)', 'parse_flare_type(text)', 'nexus_private.fail(text,text)', 'nexus_private.fail(text,text,text)', 'nexus_private.fail_rate_limited(text,integer)',
  'nexus_private.rate_limit_setting(text,integer)', 'nexus_private.flare_max_per_hour()', 'nexus_private.as_uuid(text)',
  'nexus_private.session_refused(text,text,text,integer)',
  'nexus_private.rate_limit_message(text,double precision,double precision,integer)',
  -- the member's own
  'auth.sign_out(text)', 'auth.change_password(text,text,text)', 'auth.change_password_and_callsign(text,text,text,text)',
  'nexus_private.count_password_change()', 'auth.current_user_account()', 'current_profile()',
  'set_member_rank(uuid,rank)', 'nexus_private.take_rate_limit(text,integer)',
  -- voice
  'can_join_net(uuid)', 'nexus_private.joinable_nets()', 'voice_access(text)', 'issue_voice_grants(text[])',
  'link_voice_nets(uuid,uuid)', 'unlink_voice_nets(uuid,uuid)', 'net_roster(uuid)', 'is_squad_lead(uuid)',
  -- flares and push
  'fire_rescue_flare(text,flare_type)', 'acknowledge_rescue_flare(uuid)', 'resolve_rescue_flare(uuid)',
  'cancel_rescue_flare(uuid)', 'release_rescue_flare(uuid)', 'open_rescue_flares()', 'subscribe_push(text,text,text)', 'unsubscribe_push(text)',
  -- academy
  'is_mentor_of(uuid)', 'nexus_private.may_certify(uuid)', 'nexus_private.require_may_certify(uuid)',
  'certify_mentor(uuid,uuid)', 'revoke_mentor_certification(uuid,uuid)', 'request_training(uuid)',
  'accept_training(uuid)', 'cancel_training(uuid)', 'complete_training(uuid,boolean)', 'open_training_requests()',
  'join_sim_pod(text)',
  -- job queue
  'job_queue_stats()', 'failed_jobs(text)', 'retry_jobs(bigint[])', 'discard_jobs(bigint[])', 'cron_schedule()'
], 'every function a member may execute is in this test');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'auth', 'nexus_private')
     and p.oid::regprocedure::text not in ('auth.jwt()', 'auth.claimed_sub()', 'auth.uid()', 'auth.rank()', 'auth.role()', 'auth.session_id()', 'auth.session_ended()')
     and (p.prosrc ~ 'request\.jwt' or p.prosrc ~ 'auth\.jwt\(\)')
$$, 'no function but the identity helpers reads the JWT claims, so none can see a ghost''s sub');

select tests.authenticate_as((select ghost from ids));
select is(auth.is_service(), false, 'the ghost is not the service role');
select is(pg_temp.outcome($$ select auth.sign_out('global') $$), 'refused NX401', 'the ghost cannot sign out (there is no one to sign out)');
select is(pg_temp.outcome($$ select auth.change_password('haunted-password') $$), 'refused NX401', 'the ghost cannot change the password');
select is(pg_temp.outcome($$ select * from auth.current_user_account() $$), 'empty', 'the ghost has no account to show');
select is(pg_temp.outcome($$ select * from public.current_profile() $$), 'nothing', 'the ghost has no current profile');
select matches(pg_temp.outcome(format($$ select * from public.set_member_rank(%L, 'AFFILIATE') $$, (select vagrant from ids))),
  '^refused NX401$', 'the ghost (once FOUNDER) promotes no one');
select is(pg_temp.outcome($$ select nexus_private.take_rate_limit('livekit_token', 1) $$), 'nothing', 'the ghost has no rate-limit bucket');
select matches(pg_temp.outcome($$ select * from public.issue_voice_grants(array['ghost-net', 'ghost-net']) $$), '^refused NX401$',
  'issue_voice_grants charges the ghost nothing: it is refused before any net (checked just below)');
reset role;
select is((select count(*)::int from nexus_private.rate_limit_buckets where user_id = (select ghost from ids)), 0, 'and none was made');

select tests.authenticate_as((select ghost from ids));
select is(pg_temp.outcome($$ select public.can_join_net(net) from ids $$), 'nothing', 'the ghost may join no net');
select matches(pg_temp.outcome($$ select * from nexus_private.joinable_nets() $$), '^(empty|nothing)$', 'nor any net by the set the presence policy reads');
select matches(pg_temp.outcome($$ select * from public.voice_access('ghost-net') $$), '^(refused NX401|nothing|empty)$', 'voice_access grants the ghost nothing');
select matches(pg_temp.outcome($$ select * from public.issue_voice_grants(array['ghost-net']) $$), '^(refused NX401|empty|nothing)$',
  'the ghost gets no voice grant');
select is(pg_temp.outcome($$ select auth.claimed_sub() $$), 'refused 42501', 'nor may it read its claimed sub as if it were an identity');
select matches(pg_temp.outcome($$ select * from public.link_voice_nets((select net from ids), (select net2 from ids)) $$), '^refused NX40[13]$',
  'the ghost (once FOUNDER) bridges no nets');
select matches(pg_temp.outcome($$ select * from public.unlink_voice_nets((select net from ids), (select net2 from ids)) $$), '^refused NX40[134]$',
  'the ghost unlinks no nets');
select is(pg_temp.outcome($$ select * from public.net_roster((select net from ids)) $$), 'empty', 'the ghost sees no roster');
select is(pg_temp.outcome($$ select public.is_squad_lead(squad) from refs $$), 'nothing', 'the ghost leads no squad');

select matches(pg_temp.outcome($$ select * from public.fire_rescue_flare('Haunted moon', 'OTHER') $$), '^refused NX40[13]$', 'the ghost fires no flare');
select matches(pg_temp.outcome($$ select * from public.acknowledge_rescue_flare((select id from flare)) $$), '^refused NX40[134]$', 'the ghost acknowledges no flare');
select matches(pg_temp.outcome($$ select * from public.resolve_rescue_flare((select id from flare)) $$), '^refused NX40[134]$', 'the ghost resolves no flare');
select matches(pg_temp.outcome($$ select * from public.cancel_rescue_flare((select id from flare)) $$), '^refused NX40[134]$', 'the ghost cancels no flare');
select matches(pg_temp.outcome($$ select * from public.release_rescue_flare((select id from flare)) $$), '^refused NX40[134]$', 'the ghost releases no flare''s responder');
select matches(pg_temp.outcome($$ select * from public.open_rescue_flares() $$), '^(refused NX40[13]|empty)$', 'the ghost (once FOUNDER) sees no open flares');
select matches(pg_temp.outcome(format($$ select * from public.subscribe_push('https://fcm.googleapis.com/fcm/send/ghost', %L, %L) $$, tests.push_p256dh(), tests.push_auth())),
  '^refused NX401$', 'the ghost subscribes no device');
select matches(pg_temp.outcome($$ select public.unsubscribe_push('https://push.tests.invalid/x') $$), '^(refused NX40[14]|nothing)$', 'the ghost unsubscribes nothing');

select is(pg_temp.outcome($$ select public.is_mentor_of(skill) from ids $$), 'nothing', 'the ghost (once certified) mentors nothing');
select is(pg_temp.outcome($$ select nexus_private.may_certify(skill) from ids $$), 'nothing', 'the ghost may certify no one');
select matches(pg_temp.outcome($$ select nexus_private.require_may_certify(skill) from ids $$), '^refused NX40[13]$', 'require_may_certify refuses the ghost');
select matches(pg_temp.outcome($$ select * from public.certify_mentor((select scout from ids), (select skill from ids)) $$), '^refused NX40[13]$', 'the ghost certifies no mentor');
select matches(pg_temp.outcome($$ select * from public.revoke_mentor_certification((select pioneer from ids), (select skill from ids)) $$), '^refused NX40[134]$', 'the ghost revokes no certification');
select matches(pg_temp.outcome($$ select * from public.request_training((select skill from ids)) $$), '^refused NX401$', 'the ghost requests no training');
select matches(pg_temp.outcome($$ select * from public.accept_training((select request from refs)) $$), '^refused NX40[134]$', 'the ghost (once certified) accepts no request');
select matches(pg_temp.outcome($$ select * from public.cancel_training((select request from refs)) $$), '^refused NX40[134]$', 'the ghost cancels no request');
select matches(pg_temp.outcome($$ select * from public.complete_training((select request from refs), true) $$), '^refused NX40[134]$', 'the ghost completes no request');
select is(pg_temp.outcome($$ select * from public.open_training_requests() $$), 'empty', 'the ghost (once a mentor) sees no open requests');
select matches(pg_temp.outcome($$ select * from public.join_sim_pod('sim-pod-x') $$), '^refused NX40[134]$', 'the ghost joins no sim pod');

select matches(pg_temp.outcome($$ select * from public.job_queue_stats() $$), '^refused NX40[13]$', 'the ghost (once FOUNDER) sees no job queue');
select matches(pg_temp.outcome($$ select * from public.failed_jobs(null) $$), '^refused NX40[13]$', 'nor failed jobs');
select matches(pg_temp.outcome($$ select * from public.retry_jobs(array[1]::bigint[]) $$), '^refused NX40[13]$', 'nor retries a job');
select matches(pg_temp.outcome($$ select * from public.discard_jobs(array[1]::bigint[]) $$), '^refused NX40[13]$', 'nor discards one');
select matches(pg_temp.outcome($$ select * from public.cron_schedule() $$), '^refused NX40[13]$', 'nor sees the cron schedule');

-- The same functions as a living member give real answers (the ghost checks are not vacuous).
select tests.authenticate_as((select pioneer from ids));
select is(pg_temp.outcome($$ select public.can_join_net(net) from ids $$), 'rows [{"can_join_net": true}]', 'a living member may join the net');
select ok(pg_temp.outcome($$ select * from nexus_private.joinable_nets() $$) ~ '^rows', 'and has joinable nets');
select ok(pg_temp.outcome($$ select * from public.job_queue_stats() $$) !~ '^refused', 'a living PIONEER sees the job queue');
select is(pg_temp.outcome($$ select public.is_mentor_of(skill) from ids $$), 'rows [{"is_mentor_of": true}]', 'a living mentor is a mentor');

-- Sign-in and refresh refuse the deleted member too.
select tests.clear_authentication();
select is((auth.sign_in('ghost@tests.invalid', 'password')).reason, 'invalid_credentials', 'a deleted member cannot sign in with the right password');
reset role;
create temp table ghost_session on commit drop as select (nexus_private.open_session((select ghost from ids), null, null)).refresh_token as token;
grant select on ghost_session to public;
select tests.clear_authentication();
select is((auth.refresh_session((select token from ghost_session))).error, 'UNAUTHENTICATED', 'a deleted member''s session cannot refresh');

select * from finish();
rollback;

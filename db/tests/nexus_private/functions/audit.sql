begin;
select plan(5);

/*
 * The audit trail is written only by the functions that do what an entry records (set_member_rank, link_voice_nets,
 * certify_mentor, …; their own tests check the entries): no API role may append to it directly, so no entry can
 * claim a rank change, a bridge or a certification that never happened.
 */
create temp table outcomes (caller text, outcome text) on commit drop;
grant all on outcomes to public;

select tests.clear_authentication();
insert into outcomes select 'anon', tests.affected($$ select nexus_private.audit('member.rank_changed', '{"to":"PIONEER"}') $$);
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
insert into outcomes select 'PIONEER', tests.affected($$ select nexus_private.audit('member.rank_changed', '{"to":"PIONEER"}') $$);
reset role;
select tests.authenticate_as_service();
insert into outcomes select 'service_role', tests.affected($$ select nexus_private.audit('member.rank_changed', '{"to":"PIONEER"}') $$);
reset role;

select is((select outcome from outcomes where caller = 'anon'), 'refused 42501', 'anon may not write the audit trail');
select is((select outcome from outcomes where caller = 'PIONEER'), 'refused 42501', 'a member, of the highest rank, may not write it');
select is((select outcome from outcomes where caller = 'service_role'), 'refused 42501', 'service_role may not write it directly either');
select is((select count(*)::int from nexus_private.audit_log where details ->> 'to' = 'PIONEER'), 0, 'and nothing was written');

-- What writes it still does: a FOUNDER's promotion, through set_member_rank.
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select public.set_member_rank(tests.user_of_rank('VAGRANT'), 'AFFILIATE');
reset role;
select ok(exists (select 1 from nexus_private.audit_log where action = 'member.rank_changed' and actor_id = tests.user_of_rank('FOUNDER')),
  'a promotion is still audited, with who made it');

select * from finish();
rollback;

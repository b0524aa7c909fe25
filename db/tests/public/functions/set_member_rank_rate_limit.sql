begin;
select plan(13);

/*
 * Rank changes are metered per member (security review: a SCOUT flipped a member VAGRANT <-> AFFILIATE 130 times a
 * second, an audit row each, and a voice_rights_changes row each while the target was connected). A bucket of
 * RANK_CHANGE_BURST changes, refilled at RANK_CHANGES_PER_HOUR (nexus.rank_change_burst,
 * nexus.rank_changes_per_hour): here 3 at once, 36 an hour (one every 100 s).
 */
select tests.create_user('target', 'VAGRANT');
select tests.create_user('other', 'VAGRANT');
select tests.user_of_rank('SCOUT');
select tests.user_of_rank('VOYAGER');
select set_config('nexus.rank_change_burst', '3', true);
select set_config('nexus.rank_changes_per_hour', '36', true);

select tests.authenticate_as(tests.user_of_rank('SCOUT'));
-- refused changes and changes to the same rank cost nothing
select throws_ok($$ select public.set_member_rank(tests.member('target'), 'VOYAGER') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a SCOUT cannot make a VOYAGER: refused as before');
select throws_ok($$ select public.set_member_rank(tests.user_of_rank('SCOUT'), 'VAGRANT') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'nor change their own rank');
select lives_ok($$ select public.set_member_rank(tests.member('target'), 'VAGRANT') $$, 'setting the rank a member already has changes nothing');
select lives_ok($$ select public.set_member_rank(tests.member('target'), 'AFFILIATE') $$, 'the first change');
select lives_ok($$ select public.set_member_rank(tests.member('target'), 'VAGRANT') $$, 'the second');
select lives_ok($$ select public.set_member_rank(tests.member('other'), 'AFFILIATE') $$, 'the third, on another member, fills the burst');
select throws_ok($$ select public.set_member_rank(tests.member('target'), 'AFFILIATE') $$, 'NX429', 'RATE_LIMITED',
  'the fourth within the burst is RATE_LIMITED');
select ok(tests.error_hint($$ select public.set_member_rank(tests.member('target'), 'AFFILIATE') $$) ~ '^retry_after=(99|100)$',
  'the refusal says when the next change refills (100 s at 36 an hour)');
select is(tests.error_detail($$ select public.set_member_rank(tests.member('target'), 'AFFILIATE') $$),
  'too many rank changes: at most 3 at once, then 36 an hour; try again in 100 seconds', 'and says so in words');
reset role;
select results_eq($$ select (select rank from public.profiles where id = tests.member('target')),
                            (select count(*)::int from nexus_private.audit_log where action = 'member.rank_changed') $$,
  $$ values ('VAGRANT'::public.rank, 3) $$, 'the refused flips changed nothing and wrote no audit row');

-- the bucket is the caller's: another member's changes are their own
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select lives_ok($$ select public.set_member_rank(tests.member('target'), 'SCOUT') $$, 'a VOYAGER has a bucket of their own');
reset role;

-- operators (service_role) are not limited
select tests.authenticate_as_service();
select lives_ok($$ select public.set_member_rank(tests.member('target'), r) from unnest(array['VAGRANT', 'AFFILIATE', 'SCOUT', 'VAGRANT', 'PIONEER']::public.rank[]) r $$,
  'service_role changes ranks without a bucket');
reset role;

-- 100 s later one change has refilled
update nexus_private.rate_limit_buckets set refilled_at = refilled_at - interval '101 seconds'
 where user_id = tests.user_of_rank('SCOUT') and action = 'rank_change';
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select lives_ok($$ select public.set_member_rank(tests.member('other'), 'VAGRANT') $$, 'one change refills at the configured rate');
reset role;

select * from finish();
rollback;

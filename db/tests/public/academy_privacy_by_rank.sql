begin;
select plan(5);

/*
 * Training requests and sim pods are private to their cadet and mentor, whatever the onlooker's rank: a member
 * of every rank who mentors nothing sees no other cadet's request (PENDING or ACCEPTED), no pod, and nothing in
 * open_training_requests().
 */
select tests.create_skill('Mining');
select tests.create_skill('Piloting');
select tests.create_user('cadet', 'VAGRANT');
select tests.create_user('other-cadet', 'AFFILIATE');
select tests.create_user('mentor', 'SCOUT');
select tests.certify(tests.member('mentor'), tests.skill('Mining'));
select tests.request_training(tests.member('other-cadet'), tests.skill('Piloting'));
select tests.authenticate_as(tests.member('mentor'));
select public.accept_training(tests.request_training(tests.member('cadet'), tests.skill('Mining')));
reset role;

create temp table seen (rank public.rank, requests int, pods int, open_requests int) on commit drop;
grant all on seen to public;
select tests.as_each_rank($$
  insert into seen select $1, (select count(*) from public.academy_requests), (select count(*) from public.sim_pods),
                          (select count(*) from public.open_training_requests())
$$);
select results_eq($$ select rank, requests from seen order by 1 $$, $$ select r, 0 from unnest(enum_range(null::public.rank)) r $$,
  'a member of every rank who mentors nothing sees no other cadet''s training request');
select results_eq($$ select rank, pods from seen order by 1 $$, $$ select r, 0 from unnest(enum_range(null::public.rank)) r $$,
  'nor any sim pod');
select results_eq($$ select rank, open_requests from seen order by 1 $$, $$ select r, 0 from unnest(enum_range(null::public.rank)) r $$,
  'nor any open request to take');

-- The rows are there: their cadet and mentor see them.
select tests.authenticate_as(tests.member('mentor'));
select results_eq($$ select (select count(*)::int from public.academy_requests), (select count(*)::int from public.sim_pods) $$,
  $$ values (1, 1) $$, 'the mentor sees the request they accepted and its pod');
reset role;
select tests.authenticate_as(tests.member('other-cadet'));
select results_eq($$ select status::text from public.academy_requests $$, $$ values ('PENDING') $$,
  'the other cadet sees their own PENDING request');
reset role;

select * from finish();
rollback;

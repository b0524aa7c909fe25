begin;
select plan(10);

/*
 * issue_voice_grants(): the LiveKit token bucket is charged one token per token the server will sign,
 * bridged nets included; a batch larger than what is left gets tokens while the bucket lasts and RATE_LIMITED
 * for the rest; refused and unknown nets cost nothing.
 */
select tests.create_net('hub');
select tests.create_net('spoke-' || i) from generate_series(1, 3) i;
insert into public.voice_net_bridges (source_net_id, target_net_id)
select tests.net('hub'), tests.net('spoke-' || i) from generate_series(1, 3) i;
select tests.create_net('plain-' || i) from generate_series(1, 120) i;
select tests.create_net('pioneers', 'PIONEER');

select set_config('nexus.livekit_token_burst', '10', true);
select set_config('nexus.livekit_tokens_per_minute', '6', true);
select tests.authenticate_as(tests.user_of_rank('SCOUT'));

create temp table got on commit drop as
select * from public.issue_voice_grants(array['hub', 'pioneers', 'no-such-net', 'plain-1', 'plain-2', 'plain-3', 'plain-4', 'plain-5', 'plain-6', 'plain-7']);
select is((select count(*)::int from got where error_code is null), 10,
  'a net with three bridges costs four tokens; six plain nets fill the bucket of ten');
select is((select count(*)::int from got where bridged_from is not null), 3, 'the bridged nets come with the hub');
select results_eq($$ select requested, error_code from got where bridged_from is null and error_code is not null order by ordinal $$,
  $$ values ('pioneers', 'INSUFFICIENT_CLEARANCE'), ('no-such-net', 'NOT_FOUND'), ('plain-7', 'RATE_LIMITED') $$,
  'refused and unknown nets keep their own error and cost nothing; the net past the bucket is RATE_LIMITED');
reset role;
select ok((select tokens from nexus_private.rate_limit_buckets where user_id = tests.user_of_rank('SCOUT')) < 0.5,
  'exactly the bucket was charged: ten tokens signed, ten taken');

select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.issue_voice_grants(array['plain-8']) $$, 'NX429', 'RATE_LIMITED',
  'with the bucket empty, a request whose first net costs a token is RATE_LIMITED as a whole');
select ok(tests.error_hint($$ select * from public.issue_voice_grants(array['plain-8']) $$) ~ '^retry_after=(9|10)$',
  'with the seconds until the next token in retry_after');
select is((select error_code from public.issue_voice_grants(array['pioneers'])), 'INSUFFICIENT_CLEARANCE',
  'a net the member may not join is answered even with an empty bucket: it costs nothing');

-- The attack from the finding: 100 nets at once, each bridged to three more, against a bucket of 20.
reset role;
insert into public.voice_net_bridges (source_net_id, target_net_id)
select tests.net('plain-' || i), tests.net('plain-' || (i + 100)) from generate_series(1, 20) i;
select set_config('nexus.livekit_token_burst', '20', true);
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
create temp table batch on commit drop as
select * from public.issue_voice_grants(array(select 'plain-' || i from generate_series(1, 100) i));
select is((select count(*)::int from batch where error_code is null), 20,
  'a batch of 100 nets (with bridges) signs no more tokens than the bucket of 20 holds');
select is((select count(*)::int from batch where error_code = 'RATE_LIMITED'), 90,
  'ten bridged nets (two tokens each) fit; the other 90 nets are RATE_LIMITED');
reset role;
select ok((select tokens from nexus_private.rate_limit_buckets where user_id = tests.user_of_rank('VOYAGER')) between -0.01 and 0.5,
  'and the bucket was charged one token per token signed');

select * from finish();
rollback;

begin;
select plan(20);

select is((select relpersistence from pg_class where oid = 'nexus_private.rate_limit_buckets'::regclass), 'u'::"char",
  'the buckets are unlogged: throttling state, refilled by a crash');

-- A bucket of 3 that refills 6 a minute (one token every 10 s).
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select set_config('nexus.livekit_token_burst', '3', true);
select set_config('nexus.livekit_tokens_per_minute', '6', true);
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 1) $$, 'a member with a full bucket gets a token');
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 2) $$, 'and may take the rest of the burst at once');
select throws_ok($$ select nexus_private.take_rate_limit('livekit_token', 1) $$, 'NX429', 'RATE_LIMITED',
  'an empty bucket refuses with RATE_LIMITED');
select ok(tests.error_hint($$ select nexus_private.take_rate_limit('livekit_token', 1) $$) ~ '^retry_after=(9|10)$',
  'the refusal says when the next token refills (10 s at 6 a minute) in the hint retry_after=N');
select throws_ok($$ select * from nexus_private.rate_limit_buckets $$, '42501', null,
  'members cannot read the buckets');
select throws_ok($$ update nexus_private.rate_limit_buckets set tokens = 100 $$, '42501', null,
  'members cannot refill their own bucket');

-- Another member has a bucket of their own.
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 3) $$, 'one member''s empty bucket does not limit another');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 50) $$ ,
  'a batch larger than the bucket is charged as a full bucket, so it can still be issued once');
reset role;

-- Ten seconds later, the first member has one token again, and only one.
update nexus_private.rate_limit_buckets set refilled_at = refilled_at - interval '10.5 seconds' where user_id = tests.user_of_rank('SCOUT');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 1) $$, 'a bucket refills at the configured rate');
select throws_ok($$ select nexus_private.take_rate_limit('livekit_token', 1) $$, 'NX429', 'RATE_LIMITED',
  'and not faster');

-- The decisions charge their caller themselves; members cannot charge (or refill) anyone's bucket directly.
select set_config('nexus.livekit_token_burst', '', true);
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok(format('select nexus_private.charge_rate_limit(%L, %L, 1)', tests.user_of_rank('SCOUT'), 'livekit_token'), '42501', null,
  'members cannot charge a bucket directly (only the decisions it guards do, as their owner)');
select set_config('nexus.livekit_token_burst', '1', true);
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 1) $$, 'take_rate_limit charges through charge_rate_limit');
select throws_ok($$ select nexus_private.take_rate_limit('livekit_token', 1) $$, 'NX429', 'RATE_LIMITED',
  'and refuses once that member''s bucket is empty');

-- Without refusing: a decision that has already granted part of a batch answers the rest per item.
reset role;
select set_config('nexus.livekit_token_burst', '2', true);
create temp table fresh on commit drop as select tests.create_user('fresh-bucket', 'SCOUT') as id;
select is(nexus_private.charge_rate_limit((select id from fresh), 'livekit_token', 2, refuse => false), true,
  'charge_rate_limit says true when it took the tokens');
select is(nexus_private.charge_rate_limit((select id from fresh), 'livekit_token', 1, refuse => false), false,
  'and false, raising nothing, when they do not fit and refuse is false');
select ok((select tokens from nexus_private.rate_limit_buckets where user_id = (select id from fresh) and action = 'livekit_token') < 0.1,
  'a refusal takes nothing from the bucket');
select throws_ok(format('select nexus_private.charge_rate_limit(%L, %L, 1)', (select id from fresh), 'livekit_token'), 'NX429', 'RATE_LIMITED',
  'by default it refuses with RATE_LIMITED');

select tests.authenticate_as(gen_random_uuid());
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 1) $$,
  'a token of a member who no longer exists gets no bucket (the guarded decision answers UNAUTHENTICATED)');

select tests.authenticate_as_service();
select lives_ok($$ select nexus_private.take_rate_limit('livekit_token', 1000) from generate_series(1, 30) $$,
  'the service role (no member) is not limited');

select * from finish();
rollback;

begin;
select plan(7);

/*
 * applied_definitions(): the digest of the definition files applied last, for the start-up check, which runs as
 * nexus_authenticator. Nobody else may call it (not the API's roles, not the worker's), and it answers nothing
 * but the digest.
 */
delete from nexus_private.definitions_applied;
insert into nexus_private.definitions_applied (digest) values ('0123abcd');

set local role nexus_authenticator;
select is(nexus_private.applied_definitions(), '0123abcd', 'nexus_authenticator reads the digest');
select throws_ok($$ select * from nexus_private.definitions_applied $$, '42501', null, 'but not the table behind it');
reset role;

set local role anon;
select throws_ok($$ select nexus_private.applied_definitions() $$, '42501', null, 'anon may not call it');
reset role;
set local role authenticated;
select throws_ok($$ select nexus_private.applied_definitions() $$, '42501', null, 'a member may not');
reset role;
set local role service_role;
select throws_ok($$ select nexus_private.applied_definitions() $$, '42501', null, 'service_role may not');
reset role;
set local role nexus_worker;
select throws_ok($$ select nexus_private.applied_definitions() $$, '42501', null, 'the worker''s role may not');
reset role;

delete from nexus_private.definitions_applied;
select is(nexus_private.applied_definitions(), null, 'none recorded: null, which the start-up check refuses');

select * from finish();
rollback;

begin;
select plan(5);

/* voice_net_bridges: members see a bridge only when they may join both of its nets; anon sees none. */
select tests.create_net('open', 'VAGRANT');
select tests.create_net('scouts', 'SCOUT');
select tests.create_net('founders', 'FOUNDER');
insert into public.voice_net_bridges (source_net_id, target_net_id) values
  (tests.net('open'), tests.net('scouts')), (tests.net('scouts'), tests.net('founders'));

select throws_ok($$ insert into public.voice_net_bridges (source_net_id, target_net_id) values (tests.net('open'), tests.net('open')) $$,
  '23514', null, 'the table refuses a self-link');

select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is_empty($$ select * from public.voice_net_bridges $$, 'a VAGRANT sees no bridge: each touches a net they may not join');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is((select count(*)::int from public.voice_net_bridges), 1, 'a SCOUT sees the bridge between the two nets they may join');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is((select count(*)::int from public.voice_net_bridges), 2, 'a FOUNDER sees both bridges');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.voice_net_bridges $$, '42501', null, 'anon cannot read bridges');
reset role;

select * from finish();
rollback;

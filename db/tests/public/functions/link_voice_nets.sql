begin;
select plan(21);

/*
 * link_voice_nets() / unlink_voice_nets(): FOUNDER+ only, refused for every lower rank and for anon; no self-link;
 * one bridge per pair in either direction; unlinking twice is harmless; every change audited.
 */
select tests.create_net('alpha', 'VAGRANT');
select tests.create_net('bravo', 'SCOUT');
select tests.create_net('pioneers', 'PIONEER');

create temp table refusals (rank public.rank, code text) on commit drop;
grant all on refusals to public;
do $$
declare
  r public.rank;
begin
  foreach r in array array['VAGRANT', 'AFFILIATE', 'SCOUT', 'VOYAGER']::public.rank[] loop
    perform tests.authenticate_as(tests.user_of_rank(r));
    begin
      perform public.link_voice_nets(tests.net('alpha'), tests.net('bravo'));
      insert into refusals values (r, 'allowed');
    exception when others then
      insert into refusals values (r, sqlerrm);
    end;
    reset role;
  end loop;
end
$$;
select results_eq($$ select rank, code from refusals order by 1 $$,
  $$ select r, 'INSUFFICIENT_CLEARANCE' from unnest(array['VAGRANT', 'AFFILIATE', 'SCOUT', 'VOYAGER']::public.rank[]) r $$,
  'every rank below FOUNDER is refused INSUFFICIENT_CLEARANCE when bridging nets');

select tests.clear_authentication();
select throws_ok($$ select public.link_voice_nets(tests.net('alpha'), tests.net('bravo')) $$, 'NX401', 'UNAUTHENTICATED',
  'anon may not bridge nets');
select throws_ok($$ select public.unlink_voice_nets(tests.net('alpha'), tests.net('bravo')) $$, 'NX401', 'UNAUTHENTICATED',
  'anon may not unbridge nets');
reset role;
select is((select count(*)::int from public.voice_net_bridges), 0, 'no refused attempt left a bridge behind');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is((select source_net_id from public.link_voice_nets(tests.net('alpha'), tests.net('bravo'))), tests.net('alpha'),
  'a FOUNDER bridges two nets');
select throws_ok($$ select public.link_voice_nets(tests.net('alpha'), tests.net('bravo')) $$, 'NX409', 'CONFLICT',
  'the same bridge cannot be made twice');
select throws_ok($$ select public.link_voice_nets(tests.net('bravo'), tests.net('alpha')) $$, 'NX409', 'CONFLICT',
  'nor the other way round: one bridge per pair');
select throws_ok($$ select public.link_voice_nets(tests.net('alpha'), tests.net('alpha')) $$, 'NX400', 'BAD_REQUEST',
  'a net cannot be bridged to itself');
select throws_ok($$ select public.link_voice_nets(tests.net('alpha'), gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'an unknown net is NOT_FOUND');
select throws_ok($$ select public.link_voice_nets(tests.net('alpha'), tests.net('pioneers')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a FOUNDER may not bridge a net they could not join');
select throws_ok($$ insert into public.voice_net_bridges (source_net_id, target_net_id) values (tests.net('alpha'), tests.net('pioneers')) $$,
  '42501', null, 'members cannot write bridges directly, only through link_voice_nets');
select is((select target_net_id from public.unlink_voice_nets(tests.net('bravo'), tests.net('alpha'))), tests.net('bravo'),
  'a FOUNDER unlinks a bridge naming its nets in either order');
select ok((select u is null from public.unlink_voice_nets(tests.net('alpha'), tests.net('bravo')) u),
  'unlinking a bridge that is gone is harmless and returns nothing');
reset role;

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select public.link_voice_nets(tests.net('pioneers'), tests.net('alpha')) $$, 'a PIONEER bridges nets');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.unlink_voice_nets(tests.net('pioneers'), tests.net('alpha')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a SCOUT may not unbridge nets');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ select public.unlink_voice_nets(tests.net('pioneers'), tests.net('alpha')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a FOUNDER may not unbridge a net they could not join, as they may not bridge it');
select throws_ok($$ select public.unlink_voice_nets(gen_random_uuid(), tests.net('alpha')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'nor name a net that does not exist (the answer does not tell which nets exist)');
reset role;
select is((select count(*)::int from public.voice_net_bridges where source_net_id = tests.net('pioneers')), 1, 'the PIONEER''s bridge stands');

select throws_ok($$ insert into public.voice_net_bridges (source_net_id, target_net_id) values (tests.net('alpha'), tests.net('pioneers')) $$,
  '23505', null, 'the table itself refuses a second row for the same pair, whichever way round');

select results_eq(
  $$ select action, actor_id, details ->> 'source_net_id' from nexus_private.audit_log where action like 'voice_net.%' order by id $$,
  $$ values ('voice_net.bridged', tests.user_of_rank('FOUNDER'), tests.net('alpha')::text),
            ('voice_net.unbridged', tests.user_of_rank('FOUNDER'), tests.net('alpha')::text),
            ('voice_net.bridged', tests.user_of_rank('PIONEER'), tests.net('pioneers')::text) $$,
  'every link and unlink is audited with who did it; a no-op unlink and refusals are not');
select ok((select created_by = tests.user_of_rank('PIONEER') from public.voice_net_bridges), 'a bridge records who made it');

select * from finish();
rollback;

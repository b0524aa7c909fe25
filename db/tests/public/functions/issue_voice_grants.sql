begin;
select plan(17);

/*
 * issue_voice_grants(): join/rx/tx for the caller on a batch of nets, and the bridged nets they may hear.
 * The matrix: every rank × every valid gate combination (join <= rx, join <= tx), i.e. a net per gate level of
 * each gate, asserting join, rx and tx exactly.
 */
create temp table nets (room text, j public.rank, x public.rank, t public.rank) on commit drop;
grant all on nets to public;
insert into nets
select format('m-%s-%s-%s', lower(j::text), lower(x::text), lower(t::text)), j, x, t
  from unnest(enum_range(null::public.rank)) j, unnest(enum_range(null::public.rank)) x, unnest(enum_range(null::public.rank)) t
 where x >= j and t >= j;
select tests.create_net(room, j, x, t) from nets;
-- Every grant charges the caller's LiveKit token bucket (issue_voice_grants_bucket.sql): wide enough here.
select set_config('nexus.livekit_token_burst', '100000', true);

create temp table outcomes (rank public.rank, room text, can_join boolean, can_rx boolean, can_tx boolean, error_code text) on commit drop;
grant all on outcomes to public;
select tests.as_each_rank($$
  insert into outcomes
  select $1, g.requested, g.can_join, g.can_rx, g.can_tx, g.error_code
    from public.issue_voice_grants(array(select room from nets order by room)) g
   where g.bridged_from is null
$$);

select is((select count(*)::int from outcomes), 6 * 91, 'every rank was asked about all 91 valid gate combinations in one call each');
select results_eq(
  $$ select rank, room, can_join, can_rx, can_tx from outcomes order by 1, 2 $$,
  $$ select r, n.room, r >= n.j, r >= n.j and r >= n.x, r >= n.j and r >= n.t
       from unnest(enum_range(null::public.rank)) r, nets n order by 1, 2 $$,
  'for every rank and gate combination: join iff rank >= join gate, rx iff also rank >= rx gate, tx iff also rank >= tx gate');
select is_empty($$ select 1 from outcomes where (coalesce(error_code, '') = 'INSUFFICIENT_CLEARANCE') <> (not can_join) $$,
  'a net the caller may not join answers INSUFFICIENT_CLEARANCE, and only such a net');

-- The runbook's check: a SCOUT transmits on an open net gated for tx at SCOUT, a VAGRANT only listens.
select tests.create_net('test-room', 'VAGRANT', 'VAGRANT', 'SCOUT');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is((select can_tx from public.voice_access('test-room')), true, 'a SCOUT may transmit on a net whose tx gate is SCOUT');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select row_eq($$ select can_join, can_rx, can_tx from public.voice_access('test-room') $$, row(true, true, false),
  'a VAGRANT joins and hears a net whose tx gate is SCOUT but may not transmit (listen-only)');
select results_eq($$ select requested, net_id, error_code from public.issue_voice_grants(array['no-such-room']) $$,
  $$ values ('no-such-room'::text, null::uuid, 'NOT_FOUND'::text) $$, 'an unknown room is NOT_FOUND, per net');
select results_eq($$ select ordinal, room_name, error_code from public.issue_voice_grants(
                      array['m-scout-scout-scout', 'no-such-room', tests.net('test-room')::text]) $$,
  $$ values (1, 'm-scout-scout-scout', 'INSUFFICIENT_CLEARANCE'), (2, null, 'NOT_FOUND'), (3, 'test-room', null) $$,
  'a batch answers every net in request order, by room name or id, with a per-net error code');
select throws_ok($$ select * from public.issue_voice_grants(array[]::text[]) $$, 'NX400', 'BAD_REQUEST',
  'an empty batch is BAD_REQUEST');
select throws_ok($$ select * from public.issue_voice_grants(array(select 'r' || i from generate_series(1, 101) i)) $$,
  'NX400', 'BAD_REQUEST', 'a batch of more than 100 nets is BAD_REQUEST');
select is((select callsign from public.issue_voice_grants(array['test-room'])), 'test-vagrant',
  'the caller''s callsign rides along for the token');
reset role;

select tests.clear_authentication();
select throws_ok($$ select * from public.issue_voice_grants(array['test-room']) $$, 'NX401', 'UNAUTHENTICATED',
  'anon gets no voice grants: UNAUTHENTICATED');
reset role;

-- Bridges: carried to the caller only where they may hear the other net on their own, with their own rx/tx there.
select tests.create_net('command', 'VOYAGER', 'VOYAGER', 'FOUNDER');
select tests.create_net('wing', 'VAGRANT', 'VAGRANT', 'AFFILIATE');
select tests.create_net('listen-gated', 'VAGRANT', 'SCOUT', 'SCOUT');
select tests.create_net('squad-only', 'VAGRANT', squad => tests.create_squad('Blue', array[tests.create_user('blue-one', 'SCOUT')]));
insert into public.voice_net_bridges (source_net_id, target_net_id) values
  (tests.net('wing'), tests.net('command')),
  (tests.net('listen-gated'), tests.net('wing')),
  (tests.net('wing'), tests.net('squad-only'));

select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select results_eq($$ select room_name, can_rx, can_tx from public.issue_voice_grants(array['wing']) where bridged_from = tests.net('wing') $$,
  $$ values ('command', true, false), ('listen-gated', true, true) $$,
  'a VOYAGER on wing also gets command (hears, cannot speak: tx gate FOUNDER) and listen-gated; not the squad net');
select results_eq($$ select room_name from public.issue_voice_grants(array['command']) where bridged_from is not null $$,
  $$ values ('wing') $$, 'a bridge works in both directions');
reset role;

select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select is_empty($$ select 1 from public.issue_voice_grants(array['wing']) where bridged_from is not null $$,
  'a bridge never raises clearance: an AFFILIATE on wing gets neither command (join gate) nor listen-gated (rx gate)');
select results_eq($$ select room_name, error_code from public.issue_voice_grants(array['command']) $$,
  $$ values ('command', 'INSUFFICIENT_CLEARANCE') $$,
  'a net the caller may not join carries no bridged nets at all');
reset role;

select tests.authenticate_as((select id from public.profiles where callsign = 'blue-one'));
select results_eq($$ select room_name, can_rx, can_tx from public.issue_voice_grants(array['wing']) where bridged_from is not null $$,
  $$ values ('listen-gated', true, true), ('squad-only', true, true) $$,
  'a squad member on wing also gets their squad''s bridged net');
reset role;

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select results_eq($$ select room_name, bridged_from is null from public.issue_voice_grants(array['wing', 'command']) $$,
  $$ values ('wing', true), ('command', false), ('listen-gated', false), ('squad-only', false), ('command', true), ('wing', false) $$,
  'each requested net is followed by its own bridged nets');
reset role;

select * from finish();
rollback;

/*
 * Who may join, hear (rx) and speak (tx) on a voice net: DESIGN.md §3, decided here and nowhere else.
 *
 *   join: rank >= min_rank_to_join and, when the net is tied to a squad, membership of that squad (FOUNDER+ exempt)
 *   rx:   join and rank >= min_rank_to_rx   (LiveKit canSubscribe)
 *   tx:   join and rank >= min_rank_to_tx   (LiveKit canPublish, canPublishData)
 *
 * nexus_private.net_clearance() writes the rule once, nexus_private.bridged_clearance() the bridge rule on top of
 * it. can_join_net() is the join rule for the caller, used by the policies on voice_nets and voice_net_bridges;
 * joinable_nets() is the same for every net at once, used by the policy on presence. issue_voice_grants()
 * applies all three rules to a batch of nets for the caller, with the bridged nets the caller may hear, in one
 * query: the server signs exactly what it returns and decides nothing itself.
 * nexus_private.presence_clearance() applies the same two functions to a participant already connected, for
 * the live rights job (db/functions/63_voice_rights_live.sql).
 */

/*
 * The rule itself, for any member: one row per net with what that member may do there. A plain SQL set-returning
 * function (not security definer, no SET clause) so the planner inlines it into the queries below and a filter on
 * net_id reaches the primary key; it reads voice_nets as its caller, and its callers are the security definer
 * functions below. Not callable by API roles.
 */
create or replace function nexus_private.net_clearance(caller_id uuid, caller_rank public.rank)
returns table (net_id uuid, can_join boolean, can_rx boolean, can_tx boolean)
language sql stable parallel safe as $$
  select n.id, j.may_join, j.may_join and caller_rank >= n.min_rank_to_rx, j.may_join and caller_rank >= n.min_rank_to_tx
    from public.voice_nets n
   cross join lateral (
     select coalesce(
       caller_rank >= n.min_rank_to_join
       and (n.linked_squad_id is null
            or caller_rank >= 'FOUNDER'
            or exists (select 1 from public.squad_members m where m.squad_id = n.linked_squad_id and m.user_id = caller_id)),
       false) as may_join
   ) j
$$;
comment on function nexus_private.net_clearance(uuid, public.rank) is 'join/rx/tx of a member of the given rank on every net (DESIGN.md §3). The only place the rule is written.';

/*
 * The bridge rule: the nets bridged to from_net that a member of the given rank may hear, with whether they may
 * speak there. A bridge never raises clearance: the member must be able to hear the other net on their own
 * (can_rx there, which implies may join). Whether they may join from_net itself is the caller's question. Plain
 * SQL, inlined like net_clearance.
 */
create or replace function nexus_private.bridged_clearance(caller_id uuid, caller_rank public.rank, from_net uuid)
returns table (net_id uuid, can_tx boolean)
language sql stable parallel safe as $$
  select x.other_id, c.can_tx
    from (select b.target_net_id as other_id from public.voice_net_bridges b where b.source_net_id = from_net
          union all
          select b.source_net_id from public.voice_net_bridges b where b.target_net_id = from_net) x
    cross join lateral (
      select * from nexus_private.net_clearance(caller_id, caller_rank) r where r.net_id = x.other_id offset 0
    ) c
   where c.can_rx
$$;
comment on function nexus_private.bridged_clearance(uuid, public.rank, uuid) is 'Nets bridged to from_net that a member of the given rank may hear, and whether they may speak there (DESIGN.md §3, bridges).';

/*
 * What a participant connected to a net's room may do now, by the rules their token was signed by: a token for
 * the net itself (bridged_from null) carries net_clearance; a bridged token (issued with a token for bridged_from,
 * its metadata says so) carries the bridge rule, and only while the bridge stands and the member may still join
 * bridged_from. An unknown member (deleted, or no member at all) may do nothing. Not security definer: its
 * callers are the live rights functions, which are.
 */
create or replace function nexus_private.presence_clearance(member uuid, net uuid, bridged_from uuid)
returns table (can_join boolean, can_rx boolean, can_tx boolean)
language sql stable parallel safe as $$
  select coalesce(bool_or(d.can_join), false), coalesce(bool_or(d.can_rx), false), coalesce(bool_or(d.can_tx), false)
    from (
      select c.can_join, c.can_rx, c.can_tx
        from public.profiles m
        cross join lateral nexus_private.net_clearance(m.id, m.rank) c
       where m.id = member and c.net_id = net and bridged_from is null
      union all
      select true, true, b.can_tx
        from public.profiles m
        cross join lateral nexus_private.net_clearance(m.id, m.rank) home
        cross join lateral nexus_private.bridged_clearance(m.id, m.rank, bridged_from) b
       where m.id = member and bridged_from is not null
         and home.net_id = bridged_from and home.can_join and b.net_id = net
    ) d
$$;
comment on function nexus_private.presence_clearance(uuid, uuid, uuid) is 'join/rx/tx now for a member connected to a net''s room, directly (bridged_from null) or through the bridge from bridged_from.';

/*
 * The join rule for the caller. Security definer: policies of other tables call it without seeing voice_nets
 * through RLS. PL/pgSQL with a forced generic plan so its query is planned once per session, not on every call
 * (a SQL-language body is re-planned each time, which costs more than the lookup itself); the caller's rank is
 * read here directly for the same reason (auth.rank() is a SQL function too).
 */
create or replace function public.can_join_net(net_id uuid) returns boolean
language plpgsql stable security definer parallel safe
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
declare
  caller_id uuid := auth.uid();
  caller_rank public.rank;
begin
  select p.rank into caller_rank from public.profiles p where p.id = caller_id;
  return coalesce((
    select c.can_join from nexus_private.net_clearance(caller_id, caller_rank) c where c.net_id = can_join_net.net_id
  ), false);
end
$$;
comment on function public.can_join_net(uuid) is 'Whether the caller may join the voice net: rank at least min_rank_to_join and, for a squad net, membership of the squad (FOUNDER+ exempt). False for an unknown net or without a signed-in member.';
grant execute on function public.can_join_net(uuid) to anon, authenticated, service_role;

/*
 * The nets the caller may join, as a set: can_join_net for every net at once, for row-level policies over tables
 * with many rows per net (voice_presence). A policy that says `net_id in (select nexus_private.joinable_nets())`
 * runs this once per statement as a hashed subplan, where `can_join_net(net_id)` would be one function call per
 * row (300 000 rows of presence history: 8 s instead of tens of ms, docs/BENCHMARKS.md). The rule is
 * net_clearance's, as in can_join_net. Security definer for the same reason; empty without a signed-in member.
 */
create or replace function nexus_private.joinable_nets() returns setof uuid
language sql stable security definer parallel safe
set search_path = pg_catalog, public
as $$
  select c.net_id
    from public.profiles p
   cross join lateral nexus_private.net_clearance(p.id, p.rank) c
   where p.id = auth.uid() and c.can_join
$$;
comment on function nexus_private.joinable_nets() is 'The ids of the voice nets the caller may join (the join rule of can_join_net, as a set, for policies).';
grant execute on function nexus_private.joinable_nets() to authenticated, service_role;

/*
 * The caller's grants on each requested net (by id or room name), in request order, each followed by the nets
 * bridged to it that the caller may hear, with the caller's LiveKit token bucket charged for exactly the tokens
 * the server will sign from these rows: one per net granted and one per bridged net that comes with it. A net the
 * caller may not join comes back with error_code INSUFFICIENT_CLEARANCE, an unknown one with NOT_FOUND: a batch
 * answers per net instead of failing whole, and those cost nothing. Nets are charged in request order while the
 * bucket lasts; a net whose tokens (its own and its bridges') no longer fit comes back RATE_LIMITED without its
 * bridged rows, as does every later net that would cost anything. When not even the first net that costs
 * anything fits, the whole request is RATE_LIMITED with retry_after. The caller's id, callsign and rank ride
 * along on every row: they go into the LiveKit token.
 *
 * The whole token decision is this one function, because on the token path most of Postgres's time goes to
 * starting statements and function calls, not to the lookups: the caller's profile is read once (the JWT's sub,
 * looked up: what auth.uid() and auth.rank() would each look up again), each net is one statement found by
 * primary key or unique room name with the rule applied (nexus_private.net_clearance), the bridges are asked
 * for only when the net has any, and the bucket is one upsert per net granted (nexus_private.charge_rate_limit).
 * docs/BENCHMARKS.md, Voice tokens, has the figures.
 */
create or replace function public.issue_voice_grants(nets text[])
returns table (
  ordinal integer,
  requested text,
  net_id uuid,
  room_name text,
  net_name text,
  bridged_from uuid,
  can_join boolean,
  can_rx boolean,
  can_tx boolean,
  error_code text,
  error_message text,
  user_id uuid,
  callsign text,
  rank public.rank
)
language plpgsql volatile security definer
set search_path = pg_catalog, public
-- planned once per session: a custom plan per call (the default for a parameterised query) costs ~10x the query
set plan_cache_mode = force_generic_plan
as $$
declare
  key text;
  key_id uuid;
  join_gate public.rank;
  squad_id uuid;
  bridges integer;
  -- Whether an earlier net of this request was charged (so a net that no longer fits is refused on its own, not
  -- the whole request), and whether the bucket ran out (every later net that costs anything is refused).
  charged boolean := false;
  exhausted boolean := false;
begin
  -- A member is a profile (auth.uid()): the JWT's sub, looked up, once.
  select p.id, p.callsign, p.rank into user_id, callsign, rank from public.profiles p where p.id = auth.claimed_sub();
  if user_id is null then
    perform nexus_private.fail('UNAUTHENTICATED', 'sign in to get a voice token');
  end if;
  if nets is null or cardinality(nets) = 0 then
    perform nexus_private.fail('BAD_REQUEST', 'name at least one net (its id or room name)');
  end if;
  if cardinality(nets) > 100 then
    perform nexus_private.fail('BAD_REQUEST', 'at most 100 nets per request');
  end if;

  ordinal := 0;
  foreach key in array nets loop
    ordinal := ordinal + 1;
    requested := key;
    bridged_from := null;
    -- By id when the key looks like one, else (or when no net has that id) by room name. Each lookup is by
    -- primary key or unique index, so the cost follows the number of nets asked for, not the number of nets in
    -- the organisation. A lookup that finds nothing sets every target to null.
    net_id := null;
    key_id := nexus_private.as_uuid(key);
    if key_id is not null then
      select v.id, v.room_name, v.name, v.min_rank_to_join, v.linked_squad_id, c.can_join, c.can_rx, c.can_tx
        into net_id, room_name, net_name, join_gate, squad_id, can_join, can_rx, can_tx
        from public.voice_nets v
        join nexus_private.net_clearance(user_id, rank) c on c.net_id = v.id
       where v.id = key_id;
    end if;
    if net_id is null then
      select v.id, v.room_name, v.name, v.min_rank_to_join, v.linked_squad_id, c.can_join, c.can_rx, c.can_tx
        into net_id, room_name, net_name, join_gate, squad_id, can_join, can_rx, can_tx
        from public.voice_nets v
        join nexus_private.net_clearance(user_id, rank) c on c.net_id = v.id
       where v.room_name = key;
    end if;
    can_join := coalesce(can_join, false);
    can_rx := coalesce(can_rx, false);
    can_tx := coalesce(can_tx, false);
    error_code := case when net_id is null then 'NOT_FOUND' when not can_join then 'INSUFFICIENT_CLEARANCE' end;
    -- Only a refusal reads anything more (the squad's name): a statement's tables are locked each time it runs.
    if net_id is null then
      error_message := format('no voice net %s', key);
    elsif can_join then
      error_message := null;
    elsif rank < join_gate then
      error_message := format('net %s needs rank %s or above to join; you are %s', room_name, join_gate, rank);
    else
      error_message := format('net %s is for members of squad %s', room_name, (select s.name from public.squads s where s.id = squad_id));
    end if;

    bridges := 0;
    if can_join then
      if exists (select 1 from public.voice_net_bridges b where b.source_net_id = issue_voice_grants.net_id or b.target_net_id = issue_voice_grants.net_id) then
        select count(*) into bridges from nexus_private.bridged_clearance(user_id, rank, issue_voice_grants.net_id);
      end if;
      exhausted := exhausted or not nexus_private.charge_rate_limit(user_id, 'livekit_token', 1 + bridges, refuse => not charged);
      charged := true;
      if exhausted then
        error_code := 'RATE_LIMITED';
        error_message := format('no LiveKit tokens left for this net in this request: at most %s at once, then %s a minute',
          nexus_private.rate_limit_setting('livekit_token_burst', 20), nexus_private.rate_limit_setting('livekit_tokens_per_minute', 30));
      end if;
    end if;
    return next;

    continue when error_code is not null or bridges = 0;
    return query
    select ordinal, key, o.id, o.room_name, o.name, issue_voice_grants.net_id,
           true, true, c.can_tx, null::text, null::text,
           user_id, callsign, rank
      from nexus_private.bridged_clearance(user_id, rank, issue_voice_grants.net_id) c
      join public.voice_nets o on o.id = c.net_id
     order by o.room_name;
  end loop;
end
$$;
comment on function public.issue_voice_grants(text[]) is E'@behavior -queryField -mutationField\nThe caller''s join/rx/tx on each named net (id or room name), plus the bridged nets they may hear; per-net error codes; the caller''s LiveKit token bucket charged for every token to be signed. The server signs LiveKit tokens from exactly these rows.';
grant execute on function public.issue_voice_grants(text[]) to anon, authenticated, service_role;

/*
 * One net's join/rx/tx for the caller, by id or room name (the id first); no row for an unknown net or without a
 * signed-in member. The rule applied, nothing charged: for SQL and tests, not for signing.
 */
create or replace function public.voice_access(net text)
returns table (net_id uuid, room_name text, can_join boolean, can_rx boolean, can_tx boolean)
language sql stable security definer set search_path = pg_catalog, public as $$
  select v.id, v.room_name, c.can_join, c.can_rx, c.can_tx
    from public.profiles me
   cross join lateral nexus_private.net_clearance(me.id, me.rank) c
    join public.voice_nets v on v.id = c.net_id
   where me.id = auth.uid()
     and (v.id = nexus_private.as_uuid(net) or v.room_name = net)
   order by v.id = nexus_private.as_uuid(net) desc nulls last
   limit 1
$$;
comment on function public.voice_access(text) is E'@behavior -queryField\nThe caller''s join/rx/tx on one net (id or room name).';
grant execute on function public.voice_access(text) to anon, authenticated, service_role;

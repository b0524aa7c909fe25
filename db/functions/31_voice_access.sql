/*
 * Who may join, hear (rx) and speak (tx) on a voice net: DESIGN.md §3, decided here and nowhere else.
 *
 *   join: rank >= min_rank_to_join and, when the net is tied to a squad, membership of that squad (FOUNDER+ exempt)
 *   rx:   join and rank >= min_rank_to_rx   (LiveKit canSubscribe)
 *   tx:   join and rank >= min_rank_to_tx   (LiveKit canPublish, canPublishData)
 *
 * nexus_private.net_clearance() writes the rule once. can_join_net() is the join rule for the caller, used by the
 * policies on voice_nets, voice_net_bridges and presence. issue_voice_grants() applies all three rules to a batch
 * of nets for the caller, with the bridged nets the caller may hear, in one query: the server signs exactly what
 * it returns and decides nothing itself.
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
 * The caller's grants on each requested net (by id or room name), in request order, each followed by the nets
 * bridged to it that the caller may hear. A net the caller may not join comes back with error_code
 * INSUFFICIENT_CLEARANCE, an unknown one with NOT_FOUND: a batch answers per net instead of failing whole.
 * The caller's id, callsign and rank ride along on every row: they go into the LiveKit token.
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
language plpgsql stable security definer
set search_path = pg_catalog, public
-- planned once per session: a custom plan per call (the default for a parameterised query) costs ~10x the query
set plan_cache_mode = force_generic_plan
as $$
declare
  caller public.profiles;
begin
  select * into caller from public.profiles p where p.id = auth.uid();
  if caller.id is null then
    perform nexus_private.fail('UNAUTHENTICATED', 'sign in to get a voice token');
  end if;
  if nets is null or cardinality(nets) = 0 then
    perform nexus_private.fail('BAD_REQUEST', 'name at least one net (its id or room name)');
  end if;
  if cardinality(nets) > 100 then
    perform nexus_private.fail('BAD_REQUEST', 'at most 100 nets per request');
  end if;

  return query
  with wanted as (
    select w.ord::integer as ord, w.key,
           case when w.key ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then w.key::uuid end as key_id
      from unnest(nets) with ordinality as w(key, ord)
  ),
  -- Every lookup below is by primary key or unique index (no OR across columns), so the cost follows the
  -- number of nets asked for, not the number of nets in the organisation.
  decided as (
    select w.ord, w.key, n.id, n.room_name, n.name, n.min_rank_to_join, n.linked_squad_id,
           coalesce(c.can_join, false) as may_join, coalesce(c.can_rx, false) as may_rx, coalesce(c.can_tx, false) as may_tx
      from wanted w
      left join lateral (
        (select v.* from public.voice_nets v where v.id = w.key_id)
        union all
        (select v.* from public.voice_nets v where v.room_name = w.key)
        limit 1
      ) n on true
      left join lateral (
        -- offset 0 keeps this a per-net probe; pulled up, the planner would rate every net in the organisation
        select * from nexus_private.net_clearance(caller.id, caller.rank) r where r.net_id = n.id offset 0
      ) c on true
  ),
  bridged as (
    select d.ord, d.key, o.id, o.room_name, o.name, d.id as bridged_from, c.can_tx as may_tx
      from decided d
      cross join lateral (
        select b.target_net_id as other_id from public.voice_net_bridges b where b.source_net_id = d.id
        union all
        select b.source_net_id from public.voice_net_bridges b where b.target_net_id = d.id
      ) x
      join public.voice_nets o on o.id = x.other_id
      cross join lateral (
        select * from nexus_private.net_clearance(caller.id, caller.rank) r where r.net_id = x.other_id offset 0
      ) c
     where d.may_join
       -- a bridge never raises clearance: the caller must be able to hear the other net on their own
       and c.can_rx
  )
  select d.ord, d.key, d.id, d.room_name, d.name, null::uuid,
         d.may_join, d.may_rx, d.may_tx,
         case when d.id is null then 'NOT_FOUND' when not d.may_join then 'INSUFFICIENT_CLEARANCE' end,
         case
           when d.id is null then format('no voice net %s', d.key)
           when d.may_join then null
           when caller.rank < d.min_rank_to_join then
             format('net %s needs rank %s or above to join; you are %s', d.room_name, d.min_rank_to_join, caller.rank)
           else format('net %s is for members of squad %s', d.room_name,
                       (select s.name from public.squads s where s.id = d.linked_squad_id))
         end,
         caller.id, caller.callsign, caller.rank
    from decided d
  union all
  select b.ord, b.key, b.id, b.room_name, b.name, b.bridged_from,
         true, true, b.may_tx, null, null,
         caller.id, caller.callsign, caller.rank
    from bridged b
  order by 1, 6 nulls first, 4;
end
$$;
comment on function public.issue_voice_grants(text[]) is E'@behavior -queryField\nThe caller''s join/rx/tx on each named net (id or room name), plus the bridged nets they may hear; per-net error codes. The server signs LiveKit tokens from exactly these rows.';
grant execute on function public.issue_voice_grants(text[]) to anon, authenticated, service_role;

/* One net's grants for the caller, by id or room name; no row for an unknown net. For SQL and tests. */
create or replace function public.voice_access(net text)
returns table (net_id uuid, room_name text, can_join boolean, can_rx boolean, can_tx boolean)
language sql stable as $$
  select g.net_id, g.room_name, g.can_join, g.can_rx, g.can_tx
    from public.issue_voice_grants(array[net]) g
   where g.bridged_from is null and g.net_id is not null
$$;
comment on function public.voice_access(text) is E'@behavior -queryField\nThe caller''s join/rx/tx on one net (id or room name).';
grant execute on function public.voice_access(text) to anon, authenticated, service_role;

/*
 * Who may join, hear (rx) and speak (tx) on a voice net: DESIGN.md §3, decided here and nowhere else.
 *
 *   join: rank >= min_rank_to_join and, when the net is tied to a squad, membership of that squad (FOUNDER+ exempt)
 *   rx:   join and rank >= min_rank_to_rx   (LiveKit canSubscribe)
 *   tx:   join and rank >= min_rank_to_tx   (LiveKit canPublish, canPublishData)
 *
 * can_join_net() is the join rule itself, used by the policies on voice_nets, voice_net_bridges and presence.
 * issue_voice_grants() applies all three rules to a batch of nets for the caller, with the bridged nets the caller
 * may hear, in one query: the server signs exactly what it returns and decides nothing itself.
 */

/* The join rule. Security definer: policies of other tables call it without seeing voice_nets through RLS. */
create or replace function public.can_join_net(net_id uuid) returns boolean
language sql stable security definer parallel safe set search_path = pg_catalog, public as $$
  select coalesce((
    select auth.rank() >= n.min_rank_to_join
       and (n.linked_squad_id is null
            or auth.rank() >= 'FOUNDER'
            or exists (select 1 from public.squad_members m
                        where m.squad_id = n.linked_squad_id and m.user_id = auth.uid()))
      from public.voice_nets n
     where n.id = can_join_net.net_id
  ), false)
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
language plpgsql stable security definer set search_path = pg_catalog, public as $$
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
  decided as (
    select w.ord, w.key, n.id, n.room_name, n.name, n.min_rank_to_join, n.linked_squad_id,
           public.can_join_net(n.id) as may_join,
           caller.rank >= n.min_rank_to_rx as rank_rx,
           caller.rank >= n.min_rank_to_tx as rank_tx
      from wanted w
      left join lateral (
        select v.* from public.voice_nets v
         where v.id = w.key_id or v.room_name = w.key
         order by (v.id = w.key_id) is true desc
         limit 1
      ) n on true
  ),
  bridged as (
    select d.ord, d.key, o.id, o.room_name, o.name, d.id as bridged_from,
           caller.rank >= o.min_rank_to_rx as rank_rx,
           caller.rank >= o.min_rank_to_tx as rank_tx
      from decided d
      join public.voice_net_bridges b on d.id in (b.source_net_id, b.target_net_id)
      join public.voice_nets o
        on o.id = case when b.source_net_id = d.id then b.target_net_id else b.source_net_id end
     where d.may_join
       -- a bridge never raises clearance: the caller must be able to join and hear the other net on their own
       and public.can_join_net(o.id)
       and caller.rank >= o.min_rank_to_rx
  )
  select d.ord, d.key, d.id, d.room_name, d.name, null::uuid,
         d.may_join, d.may_join and d.rank_rx, d.may_join and d.rank_tx,
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
         true, true, b.rank_tx, null, null,
         caller.id, caller.callsign, caller.rank
    from bridged b
  order by 1, 6 nulls first, 4;
end
$$;
comment on function public.issue_voice_grants(text[]) is E'The caller''s join/rx/tx on each named net (id or room name), plus the bridged nets they may hear; per-net error codes. The server signs LiveKit tokens from exactly these rows.\n@behavior -queryField';
grant execute on function public.issue_voice_grants(text[]) to authenticated, service_role;

/* One net's grants for the caller, by id or room name; no row for an unknown net. For SQL and tests. */
create or replace function public.voice_access(net text)
returns table (net_id uuid, room_name text, can_join boolean, can_rx boolean, can_tx boolean)
language sql stable as $$
  select g.net_id, g.room_name, g.can_join, g.can_rx, g.can_tx
    from public.issue_voice_grants(array[net]) g
   where g.bridged_from is null and g.net_id is not null
$$;
comment on function public.voice_access(text) is E'The caller''s join/rx/tx on one net (id or room name).\n@behavior -queryField';
grant execute on function public.voice_access(text) to authenticated, service_role;

/*
 * Bridging two voice nets (DESIGN.md §3): FOUNDER+ only, never a net to itself, one bridge per pair whichever way
 * round, unlinking twice is harmless, and every change is audited. The founder must be able to join both nets:
 * a bridge is made by someone who can hear what they are patching together.
 */
create or replace function public.link_voice_nets(source_net_id uuid, target_net_id uuid)
returns public.voice_net_bridges
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  existing public.voice_net_bridges;
  bridge public.voice_net_bridges;
begin
  perform nexus_private.require_rank('FOUNDER', 'bridge nets');
  if source_net_id is null or target_net_id is null then
    perform nexus_private.fail('BAD_REQUEST', 'name both nets to bridge (sourceNetId and targetNetId)');
  end if;
  if source_net_id = target_net_id then
    perform nexus_private.fail('BAD_REQUEST', 'a net cannot be bridged to itself');
  end if;
  if not exists (select 1 from public.voice_nets n where n.id = link_voice_nets.source_net_id) then
    perform nexus_private.fail('NOT_FOUND', format('no voice net %s', source_net_id));
  end if;
  if not exists (select 1 from public.voice_nets n where n.id = link_voice_nets.target_net_id) then
    perform nexus_private.fail('NOT_FOUND', format('no voice net %s', target_net_id));
  end if;
  if not auth.is_service() and not (public.can_join_net(source_net_id) and public.can_join_net(target_net_id)) then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'you may only bridge nets you may join');
  end if;

  select * into existing from public.voice_net_bridges b
   where least(b.source_net_id, b.target_net_id) = least(link_voice_nets.source_net_id, link_voice_nets.target_net_id)
     and greatest(b.source_net_id, b.target_net_id) = greatest(link_voice_nets.source_net_id, link_voice_nets.target_net_id);
  if existing.id is not null then
    perform nexus_private.fail('CONFLICT', format('these nets are already bridged (bridge %s)', existing.id));
  end if;

  begin
    insert into public.voice_net_bridges (source_net_id, target_net_id, created_by)
    values (link_voice_nets.source_net_id, link_voice_nets.target_net_id, auth.uid())
    returning * into bridge;
  exception when unique_violation then
    -- a concurrent link of the same pair won the race
    perform nexus_private.fail('CONFLICT', 'these nets are already bridged');
  end;
  perform nexus_private.audit('voice_net.bridged', jsonb_build_object(
    'bridge_id', bridge.id, 'source_net_id', bridge.source_net_id, 'target_net_id', bridge.target_net_id));
  return bridge;
end
$$;
comment on function public.link_voice_nets(uuid, uuid) is E'@resultFieldName voiceNetBridge\nBridge two voice nets (FOUNDER+, nets you may join). Self-links are BAD_REQUEST, an existing pair in either direction CONFLICT. Audited.';
grant execute on function public.link_voice_nets(uuid, uuid) to anon, authenticated, service_role;

/* Remove the bridge between two nets, whichever way round it was made; the removed bridge, or null if there was none. */
create or replace function public.unlink_voice_nets(source_net_id uuid, target_net_id uuid)
returns public.voice_net_bridges
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  bridge public.voice_net_bridges;
begin
  perform nexus_private.require_rank('FOUNDER', 'unbridge nets');
  if source_net_id is null or target_net_id is null then
    perform nexus_private.fail('BAD_REQUEST', 'name both nets to unbridge (sourceNetId and targetNetId)');
  end if;
  -- As for bridging: only nets the caller may join. (A net that does not exist is one they may not join, so the
  -- answer does not tell which nets exist.)
  if not auth.is_service() and not (public.can_join_net(source_net_id) and public.can_join_net(target_net_id)) then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'you may only unbridge nets you may join');
  end if;
  delete from public.voice_net_bridges b
   where least(b.source_net_id, b.target_net_id) = least(unlink_voice_nets.source_net_id, unlink_voice_nets.target_net_id)
     and greatest(b.source_net_id, b.target_net_id) = greatest(unlink_voice_nets.source_net_id, unlink_voice_nets.target_net_id)
  returning * into bridge;
  if bridge.id is null then
    return null;
  end if;
  perform nexus_private.audit('voice_net.unbridged', jsonb_build_object(
    'bridge_id', bridge.id, 'source_net_id', bridge.source_net_id, 'target_net_id', bridge.target_net_id));
  return bridge;
end
$$;
comment on function public.unlink_voice_nets(uuid, uuid) is E'@resultFieldName voiceNetBridge\nRemove the bridge between two nets (FOUNDER+, both nets ones the caller may join), either direction; null when there was none. Audited.';
grant execute on function public.unlink_voice_nets(uuid, uuid) to anon, authenticated, service_role;

-- migrate:up
/*
 * Retired net rooms: a LiveKit room that was a voice net's and is no longer any net's, because the net was
 * deleted or its room_name was changed. The participants still connected there hold tokens that named that room;
 * no net gives them any right there now, so live rights remove them (db/functions/63_voice_rights_live.sql).
 *
 * It is what lets the decision tell "was ours" from "never ours": a room that is neither a net's, a sim pod's
 * nor retired belongs to someone else on the same LiveKit project and is never touched. A row is written in the
 * transaction that deletes or renames the net, so a crash or a retried job finds it still there; it goes away
 * when a net takes that room name again (that net decides its room normally), or after 30 days once nobody is
 * connected there (voice_rights_prune).
 *
 * net_id is the net the room was last retired from (deleted nets keep their id here): its live rights job
 * covers its retired rooms as well as its current one.
 */
create table nexus_private.retired_net_rooms (
  room_name text primary key,
  net_id uuid not null,
  retired_at timestamptz not null default clock_timestamp()
);
create index retired_net_rooms_net_idx on nexus_private.retired_net_rooms (net_id);
comment on table nexus_private.retired_net_rooms is 'Rooms that were a voice net''s and are no net''s now (the net deleted or its room renamed): whoever is still connected there is removed.';
grant select on nexus_private.retired_net_rooms to service_role;

-- The changes that retire a room, for the live rights audit.
alter table nexus_private.voice_rights_changes drop constraint voice_rights_changes_kind;
alter table nexus_private.voice_rights_changes add constraint voice_rights_changes_kind check (kind in (
  'rank_changed', 'member_deleted', 'net_gates_changed', 'net_squad_changed', 'squad_member_added',
  'squad_member_removed', 'bridge_linked', 'bridge_unlinked', 'sim_pod_expiry', 'joined_out_of_date',
  'net_deleted', 'net_room_renamed'));

-- migrate:down
-- The triggers db/functions/63_voice_rights_live.sql adds for this go with the table they write.
drop trigger if exists voice_nets_voice_rooms_insert on public.voice_nets;
drop trigger if exists voice_nets_voice_rooms_update on public.voice_nets;
drop trigger if exists voice_nets_voice_rooms_delete on public.voice_nets;
drop function if exists nexus_private.voice_rights_on_voice_net_rooms();
drop table if exists nexus_private.retired_net_rooms;
delete from nexus_private.voice_rights_changes where kind in ('net_deleted', 'net_room_renamed');
alter table nexus_private.voice_rights_changes drop constraint voice_rights_changes_kind;
alter table nexus_private.voice_rights_changes add constraint voice_rights_changes_kind check (kind in (
  'rank_changed', 'member_deleted', 'net_gates_changed', 'net_squad_changed', 'squad_member_added',
  'squad_member_removed', 'bridge_linked', 'bridge_unlinked', 'sim_pod_expiry', 'joined_out_of_date'));

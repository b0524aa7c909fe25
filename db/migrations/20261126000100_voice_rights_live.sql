-- migrate:up
/*
 * Live voice rights: a member's LiveKit rights follow their clearance while they are connected, not only when
 * their token was signed (DESIGN.md §3, "Rights apply live").
 *
 * voice_rights_changes is what changed: one row per change that can move someone's clearance on a net (a rank,
 * a net's gates or squad, a squad membership, a bridge, a deleted member, a sim pod's expiry; or a participant
 * who joined with rights that no longer match, on a token signed before a change), written by the
 * triggers in db/functions/63_voice_rights_live.sql in the changing transaction. It is the cause the audit
 * names, and its changed_at starts the lag clock.
 *
 * presence_rights is what LiveKit holds for each connected participant, as far as we know: the rights the join
 * webhook reported, then whatever we last applied. Null rights mean unknown (a join event without permissions),
 * so the next decision is sent whatever it is. removed_at is set once we removed the participant, so a retried
 * job never removes them twice.
 *
 * voice_rights_log is the audit: every update or removal we sent, who it was for, what they had and what they
 * got, because of which changes, and when LiveKit answered. Failed attempts are logged too (outcome 'failed').
 */
create table nexus_private.voice_rights_changes (
  id bigint generated always as identity primary key,
  kind text not null,
  member_id uuid,
  net_id uuid,
  sim_pod_id text,
  details jsonb not null default '{}',
  actor_id uuid,
  actor_role text not null,
  changed_at timestamptz not null default clock_timestamp(),
  constraint voice_rights_changes_kind check (kind in (
    'rank_changed', 'member_deleted', 'net_gates_changed', 'net_squad_changed', 'squad_member_added',
    'squad_member_removed', 'bridge_linked', 'bridge_unlinked', 'sim_pod_expiry', 'joined_out_of_date')),
  constraint voice_rights_changes_subject check (num_nonnulls(member_id, net_id, sim_pod_id) = 1)
);
create index voice_rights_changes_changed_at_idx on nexus_private.voice_rights_changes (changed_at);
comment on table nexus_private.voice_rights_changes is 'Changes that can move a member''s clearance on a net, each naming the one member, net or sim pod whose connected participants must be re-decided.';

create table nexus_private.presence_rights (
  presence_id uuid primary key references public.voice_presence (id) on delete cascade,
  can_subscribe boolean,
  can_publish boolean,
  can_publish_data boolean,
  removed_at timestamptz,
  updated_at timestamptz not null default now()
);
comment on table nexus_private.presence_rights is 'The LiveKit rights a connected participant holds as far as we know (join webhook, then our updates); null = unknown.';

create table nexus_private.voice_rights_log (
  id bigint generated always as identity primary key,
  presence_id uuid,
  room_name text not null,
  participant_identity text not null,
  user_id uuid,
  net_id uuid,
  sim_pod_id text,
  action text not null,
  outcome text not null,
  had_subscribe boolean,
  had_publish boolean,
  can_subscribe boolean not null,
  can_publish boolean not null,
  change_ids bigint[] not null,
  changed_at timestamptz,
  answered_at timestamptz not null default clock_timestamp(),
  error text,
  constraint voice_rights_log_action check (action in ('update', 'remove')),
  constraint voice_rights_log_outcome check (outcome in ('updated', 'removed', 'not_present', 'failed'))
);
create index voice_rights_log_answered_at_idx on nexus_private.voice_rights_log (answered_at);
create index voice_rights_log_user_idx on nexus_private.voice_rights_log (user_id, answered_at desc);
comment on table nexus_private.voice_rights_log is 'Audit of live rights: each LiveKit update or removal (and failed attempt), for whom, from what to what, because of which voice_rights_changes.';

-- Connected participants not matched to a member (a deleted member's, say) are found by what they claim: few
-- rows, so small partial indexes; matched ones go by voice_presence_user_idx.
create index voice_presence_open_unmatched_identity_idx on public.voice_presence (participant_identity)
  where left_at is null and user_id is null;
create index voice_presence_open_unmatched_claim_idx on public.voice_presence ((participant_metadata ->> 'userId'))
  where left_at is null and user_id is null;

grant select on nexus_private.voice_rights_changes, nexus_private.presence_rights, nexus_private.voice_rights_log to service_role;

-- migrate:down
-- The triggers and functions db/functions/63_voice_rights_live.sql adds go with the tables they write.
drop trigger if exists profiles_voice_rights_update on public.profiles;
drop trigger if exists profiles_voice_rights_delete on public.profiles;
drop trigger if exists voice_nets_voice_rights_update on public.voice_nets;
drop trigger if exists squad_members_voice_rights_insert on public.squad_members;
drop trigger if exists squad_members_voice_rights_delete on public.squad_members;
drop trigger if exists squad_members_voice_rights_update on public.squad_members;
drop trigger if exists voice_net_bridges_voice_rights_insert on public.voice_net_bridges;
drop trigger if exists voice_net_bridges_voice_rights_delete on public.voice_net_bridges;
drop trigger if exists sim_pods_voice_rights on public.sim_pods;
drop function if exists nexus_private.voice_rights_on_profiles();
drop function if exists nexus_private.voice_rights_on_voice_nets();
drop function if exists nexus_private.voice_rights_on_squad_members_insert();
drop function if exists nexus_private.voice_rights_on_squad_members_delete();
drop function if exists nexus_private.voice_rights_on_squad_members_update();
drop function if exists nexus_private.voice_rights_on_bridges();
drop function if exists nexus_private.voice_rights_on_sim_pods();
drop function if exists nexus_private.enqueue_voice_rights(bigint[]);
drop function if exists nexus_private.change_actor_role();
drop function if exists nexus_private.voice_rights_due(uuid[], uuid[], text[]);
drop function if exists nexus_private.voice_rights_claim(uuid[], uuid[], text[]);
drop function if exists nexus_private.voice_rights_decisions(uuid[], uuid[], uuid[], text[]);
drop function if exists nexus_private.voice_rights_record(jsonb, bigint[]);
drop function if exists nexus_private.presence_decision(uuid);
drop function if exists nexus_private.record_join_rights(uuid, jsonb);
drop function if exists nexus_private.voice_rights_on_join(uuid);
drop function if exists nexus_private.member_connected(uuid);
drop function if exists nexus_private.net_connected(uuid);
drop function if exists nexus_private.voice_rights_stats();
drop function if exists nexus_private.voice_rights_prune(interval);
drop function if exists nexus_private.voice_rights_scope(uuid[], uuid[], text[]);
drop index if exists public.voice_presence_open_unmatched_identity_idx;
drop index if exists public.voice_presence_open_unmatched_claim_idx;
drop table if exists nexus_private.voice_rights_log;
drop table if exists nexus_private.presence_rights;
drop table if exists nexus_private.voice_rights_changes;

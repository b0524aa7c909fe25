-- migrate:up
/*
 * Squads: standing teams inside the organisation (a wing, a fire team, a salvage crew). A squad is what a voice
 * net can be tied to through voice_nets.linked_squad_id, so that only its members (and FOUNDER+) may join that
 * net. A squad is not a rank and grants no clearance of its own: rank gates still apply on top.
 *
 * squad_members says who belongs, with a role: LEAD (may manage the squad's roster) or MEMBER. FOUNDER+ create,
 * rename and delete squads and may manage any roster; members see every squad and roster.
 */
create table public.squads (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  description text,
  created_at timestamptz not null default now(),
  constraint squads_name_format check (length(btrim(name)) between 2 and 64)
);
alter table public.squads enable row level security;
create unique index squads_name_key on public.squads (lower(name));
comment on table public.squads is 'A standing team of members; a voice net may be restricted to one squad.';

create table public.squad_members (
  squad_id uuid not null references public.squads (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  role text not null default 'MEMBER',
  joined_at timestamptz not null default now(),
  primary key (squad_id, user_id),
  constraint squad_members_role check (role in ('LEAD', 'MEMBER'))
);
alter table public.squad_members enable row level security;
-- can_join_net() looks memberships up by (squad, user) through the primary key; "my squads" goes by user.
create index squad_members_user_id_idx on public.squad_members (user_id);
comment on table public.squad_members is 'Who belongs to which squad. A LEAD manages the roster of their squad.';
comment on column public.squad_members.role is 'LEAD (manages the roster) or MEMBER.';

grant select, delete on public.squads to authenticated;
grant insert (name, description), update (name, description) on public.squads to authenticated;
grant select, delete on public.squad_members to authenticated;
grant insert (squad_id, user_id, role), update (role) on public.squad_members to authenticated;
grant select, insert, update, delete on public.squads, public.squad_members to service_role;

-- migrate:down
drop table if exists public.squad_members;
drop table if exists public.squads;

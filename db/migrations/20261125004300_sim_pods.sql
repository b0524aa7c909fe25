-- migrate:up
/*
 * Sim pods: the LiveKit voice room where a mentor and a cadet meet for one accepted training request. Made when a
 * mentor accepts (public.accept_training); the id, `sim-pod-` and 32 hex digits, doubles as the LiveKit room name.
 * Only the request's cadet and mentor get tokens for it (public.join_sim_pod): both may speak and listen, the
 * mentor also administers that one room (mute, remove). A pod lives until expires_at (two hours after it is made),
 * or until its training is completed or cancelled, whichever is first; after that it hands out no tokens.
 *
 * Not a voice net: nets are rank-gated rooms anyone cleared may join; a pod is private to two members.
 */
create table public.sim_pods (
  id text primary key,
  room_name text not null,
  request_id uuid not null references public.academy_requests (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  constraint sim_pods_id_format check (id ~ '^sim-pod-[0-9a-f]{32}$'),
  constraint sim_pods_room_name_format check (room_name ~ '^sim-pod-[0-9a-f]{32}$'),
  constraint sim_pods_expiry check (expires_at >= created_at)
);
alter table public.sim_pods enable row level security;
create unique index sim_pods_room_name_key on public.sim_pods (room_name);
-- One pod per request.
create unique index sim_pods_request_id_key on public.sim_pods (request_id);

alter table public.academy_requests
  add constraint academy_requests_sim_pod_id_fkey foreign key (sim_pod_id) references public.sim_pods (id) on delete set null;
create index academy_requests_sim_pod_id_idx on public.academy_requests (sim_pod_id);

-- GraphQL navigates request -> simPod and simPod -> request; the reverse lists would only repeat them.
comment on constraint sim_pods_request_id_fkey on public.sim_pods is E'@backwardBehavior -*';
comment on constraint academy_requests_sim_pod_id_fkey on public.academy_requests is E'@backwardBehavior -*';
comment on table public.sim_pods is
  E'@behavior -insert -update -delete\nThe LiveKit room where a mentor and a cadet meet for one training request. Tokens come from acceptTraining (mentor) and joinSimPod (both).';
comment on column public.sim_pods.room_name is 'The LiveKit room (the same text as the id).';
comment on column public.sim_pods.expires_at is 'After this no token is handed out; set to the moment the training is completed or cancelled, if that comes first.';

grant select on public.sim_pods to authenticated;
grant select, insert, update, delete on public.sim_pods to service_role;

-- migrate:down
-- The functions db/functions/62_academy_sim_pods.sql adds for pods go with them.
drop function if exists public.accept_training(uuid);
drop function if exists public.join_sim_pod(text);
drop function if exists nexus_private.sim_pod_grant(text, uuid);
drop function if exists nexus_private.sim_pod_lifetime();
alter table public.academy_requests drop constraint if exists academy_requests_sim_pod_id_fkey;
drop index if exists public.academy_requests_sim_pod_id_idx;
drop table if exists public.sim_pods;

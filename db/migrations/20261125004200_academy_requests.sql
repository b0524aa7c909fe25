-- migrate:up
/*
 * Training requests: a cadet (any member) asks the academy to be taught a skill. The request is PENDING until a
 * mentor certified for the skill accepts it (ACCEPTED: the mentor and a sim pod are set), and ends COMPLETED when
 * the mentor signs the training off, or CANCELLED when the cadet calls it off (while PENDING or ACCEPTED).
 *
 * The rules live in the functions that change requests (db/functions/61_academy_requests.sql): one open request
 * (PENDING or ACCEPTED) per skill per cadet, held here too by a partial unique index; a mentor never accepts
 * their own request; of two mentors accepting at once exactly one wins (the accept is an update guarded by
 * status = 'PENDING'). A cadet sees their own requests, a mentor the ones they took and the PENDING ones in the
 * skills they mentor; nobody else. Nobody writes the table directly.
 *
 * Not the voice room: that is public.sim_pods.
 */
create type public.academy_request_status as enum ('PENDING', 'ACCEPTED', 'COMPLETED', 'CANCELLED');
comment on type public.academy_request_status is 'PENDING (waiting for a mentor), ACCEPTED (a mentor and a sim pod are set), COMPLETED or CANCELLED (over).';

create table public.academy_requests (
  id uuid primary key default gen_random_uuid(),
  cadet_id uuid not null references public.profiles (id) on delete cascade,
  skill_id uuid not null references public.skills (id) on delete cascade,
  status public.academy_request_status not null default 'PENDING',
  mentor_id uuid references public.profiles (id) on delete set null,
  -- references public.sim_pods, added with that table
  sim_pod_id text,
  created_at timestamptz not null default now(),
  accepted_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  constraint academy_requests_not_own_mentor check (mentor_id is distinct from cadet_id),
  constraint academy_requests_accepted check (
    status = 'CANCELLED' or ((status = 'PENDING') = (accepted_at is null))),
  constraint academy_requests_completed check ((status = 'COMPLETED') = (completed_at is not null)),
  constraint academy_requests_cancelled check ((status = 'CANCELLED') = (cancelled_at is not null))
);
alter table public.academy_requests enable row level security;

-- One open request per skill per cadet, even if two requests race past the function's own check.
create unique index academy_requests_one_open_per_skill on public.academy_requests (cadet_id, skill_id)
  where status in ('PENDING', 'ACCEPTED');
-- "My requests" (the cadet's policy) over every status, and deleting a member.
create index academy_requests_cadet_id_idx on public.academy_requests (cadet_id);
create index academy_requests_mentor_id_idx on public.academy_requests (mentor_id);
create index academy_requests_skill_id_idx on public.academy_requests (skill_id);
-- "Open requests a mentor can take": PENDING ones by skill, oldest first.
create index academy_requests_pending_skill_idx on public.academy_requests (skill_id, created_at) where status = 'PENDING';

comment on table public.academy_requests is
  E'@behavior -insert -update -delete\nA cadet''s request to be taught a skill. Made with requestTraining, taken with acceptTraining, ended with completeTraining or cancelTraining.';
comment on column public.academy_requests.cadet_id is 'The member who asked to be taught.';
comment on column public.academy_requests.mentor_id is 'The certified mentor who accepted the request.';

grant select on public.academy_requests to authenticated;
grant select, insert, update, delete on public.academy_requests to service_role;

-- migrate:down
-- The functions db/functions/61_academy_requests.sql adds for requests go with them.
drop function if exists public.request_training(uuid);
drop function if exists public.cancel_training(uuid);
drop function if exists public.complete_training(uuid, boolean);
drop function if exists public.open_training_requests();
drop function if exists nexus_private.academy_payload(public.academy_requests, text);
drop table if exists public.academy_requests;
drop type if exists public.academy_request_status;

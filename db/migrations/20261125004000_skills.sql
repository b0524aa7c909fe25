-- migrate:up
/*
 * Skills the academy teaches: what a cadet can ask to learn and a mentor can be certified to teach (piloting a
 * Hammerhead, mining with a Prospector, field medicine…). A skill is a name with an optional description and a
 * category to group them by in the app.
 *
 * Not who knows what: who may teach a skill is public.mentor_certifications; who asked to learn one is
 * public.academy_requests. Operators add skills in the SQL editor (`insert into public.skills (name) values (…)`),
 * FOUNDER+ members through the API; every member reads them.
 */
create table public.skills (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  description text,
  category text,
  created_at timestamptz not null default now(),
  constraint skills_name_length check (length(btrim(name)) between 1 and 100),
  constraint skills_description_length check (description is null or length(description) <= 2000),
  constraint skills_category_length check (category is null or length(btrim(category)) between 1 and 60)
);
alter table public.skills enable row level security;
create unique index skills_name_key on public.skills (lower(btrim(name)));

comment on table public.skills is E'@behavior -delete\nA skill the academy teaches: cadets request training in it, certified mentors teach it.';
comment on column public.skills.category is 'A group for the app to list skills under (Flight, Combat, Industry, Medical…).';

grant select on public.skills to authenticated;
grant insert (name, description, category), update (name, description, category) on public.skills to authenticated;
grant select, insert, update, delete on public.skills to service_role;

-- migrate:down
drop table if exists public.skills;

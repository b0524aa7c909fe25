-- migrate:up
/*
 * Brute-force limits, kept here because servers are many and stateless. One row per event that a limit counts:
 *   - `sign_in_failure`, per account (the e-mail as typed, lower-cased, known or not, so the answer does not tell
 *     which accounts exist): after AUTH_MAX_FAILED_LOGINS (default 10) within 15 minutes, sign-in is refused
 *     with RATE_LIMITED until the oldest leaves the window; a correct password clears them.
 *   - `sign_up`, per client address: at most AUTH_SIGNUPS_PER_HOUR (default 30) an hour.
 * Not an audit trail: rows older than their window are deleted as new ones arrive and by the worker's sweep.
 */
create table nexus_private.auth_limit_events (
  id bigint generated always as identity primary key,
  kind text not null,
  subject text not null,
  happened_at timestamptz not null default now(),
  constraint auth_limit_events_kind check (kind in ('sign_in_failure', 'sign_up'))
);
create index auth_limit_events_subject_idx on nexus_private.auth_limit_events (kind, subject, happened_at);
create index auth_limit_events_happened_at_idx on nexus_private.auth_limit_events (happened_at);
comment on table nexus_private.auth_limit_events is
  'What the sign-in limits count: wrong passwords per lower-cased e-mail (15 minutes), sign-ups per client address (1 hour).';

-- migrate:down
drop table if exists nexus_private.auth_limit_events;

-- migrate:up
/*
 * Brute-force limits, kept here because servers are many and stateless:
 *   - failed sign-ins per account (the e-mail as typed, lower-cased, known or not, so the answer does not tell
 *     which accounts exist): after AUTH_MAX_FAILED_LOGINS (default 10) within 15 minutes, sign-in is refused
 *     with RATE_LIMITED until the oldest failure leaves the window; a correct password clears the count.
 *   - sign-ups per client address (AUTH_SIGNUPS_PER_HOUR, default 30 an hour).
 * Not an audit trail: rows older than their window are deleted as new ones arrive and by the worker's sweep.
 */
create table nexus_private.sign_in_failures (
  id bigint generated always as identity primary key,
  email text not null,
  failed_at timestamptz not null default now()
);
create index sign_in_failures_email_idx on nexus_private.sign_in_failures (email, failed_at);
create index sign_in_failures_failed_at_idx on nexus_private.sign_in_failures (failed_at);
comment on table nexus_private.sign_in_failures is 'Wrong-password sign-ins per lower-cased e-mail, for the failed-login limit (15 minutes).';

create table nexus_private.sign_ups (
  id bigint generated always as identity primary key,
  client_address text not null,
  signed_up_at timestamptz not null default now()
);
create index sign_ups_client_address_idx on nexus_private.sign_ups (client_address, signed_up_at);
create index sign_ups_signed_up_at_idx on nexus_private.sign_ups (signed_up_at);
comment on table nexus_private.sign_ups is 'Accounts created per client address, for the hourly sign-up limit.';

-- migrate:down
drop table if exists nexus_private.sign_ups;
drop table if exists nexus_private.sign_in_failures;

-- migrate:up
/*
 * Failed sign-ins are counted per account *and* per client address (the address the server believed, as
 * TRUST_PROXY says). Three limits read these rows (db/functions/11_sessions.sql, auth.sign_in):
 *   - one account from one address (AUTH_MAX_FAILED_LOGINS), so a stranger who knows an e-mail locks that
 *     account only for themselves, not for its owner signing in from elsewhere;
 *   - one address over all accounts (AUTH_MAX_FAILED_LOGINS_PER_ADDRESS), against spraying one password over
 *     many accounts;
 *   - one account over all addresses (AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT), a ceiling on guessing from many.
 * Rows from before this migration have no address; they count for the account (per-account ceiling) only.
 */
alter table nexus_private.auth_limit_events add column client_address text;
create index auth_limit_events_address_idx on nexus_private.auth_limit_events (kind, client_address, happened_at);
comment on column nexus_private.auth_limit_events.client_address is
  'For sign_in_failure: the client address the failure came from, as nexus_private.limit_address counts it.';
comment on table nexus_private.auth_limit_events is
  'What the sign-in limits count: wrong passwords per e-mail and client address (15 minutes), sign-ups per client address (1 hour).';

-- migrate:down
drop index if exists nexus_private.auth_limit_events_address_idx;
alter table nexus_private.auth_limit_events drop column if exists client_address;

-- migrate:up
/*
 * Two more things the sign-in limits count (db/functions/11_sessions.sql), each checked before any bcrypt is paid:
 *   - `sign_in_attempt`, per client address (subject, as nexus_private.limit_address counts it): every password
 *     sign-in, right or wrong, at most AUTH_MAX_LOGINS_PER_ADDRESS (default 30) per 5 minutes;
 *   - `password_change`, per member (subject: the user id): at most AUTH_PASSWORD_CHANGES_PER_HOUR (default 10);
 *   - `session_refresh`, per session (subject: the session id): at most nexus.session_refreshes_per_hour (60).
 */
alter table nexus_private.auth_limit_events drop constraint auth_limit_events_kind;
alter table nexus_private.auth_limit_events add constraint auth_limit_events_kind
  check (kind in ('sign_in_failure', 'sign_up', 'sign_in_attempt', 'password_change', 'session_refresh'));
comment on table nexus_private.auth_limit_events is
  'What the sign-in limits count: wrong passwords per e-mail and client address (15 minutes), sign-ups per client address (1 hour), sign-ins per client address (5 minutes), password changes per member (1 hour), refreshes per session (1 hour).';

-- migrate:down
delete from nexus_private.auth_limit_events where kind in ('sign_in_attempt', 'password_change', 'session_refresh');
alter table nexus_private.auth_limit_events drop constraint auth_limit_events_kind;
alter table nexus_private.auth_limit_events add constraint auth_limit_events_kind check (kind in ('sign_in_failure', 'sign_up'));
comment on table nexus_private.auth_limit_events is
  'What the sign-in limits count: wrong passwords per e-mail and client address (15 minutes), sign-ups per client address (1 hour).';

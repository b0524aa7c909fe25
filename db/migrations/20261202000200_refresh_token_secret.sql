-- migrate:up
/*
 * A refresh token's successor is derived from it: hmac(the presented token, its session's refresh_secret). A
 * token presented again within the reuse window (two tabs refreshing at once) then gets the same successor as
 * the first time instead of a sibling, so a session is one chain of tokens, never a tree of live forks. The secret
 * never leaves Postgres (nexus_private, no API role reads it), so an old token does not tell its successor to
 * whoever holds it: only presenting it does, and after the window that revokes the session.
 */
alter table nexus_private.sessions add column refresh_secret bytea not null default gen_random_bytes(32);
comment on column nexus_private.sessions.refresh_secret is
  'Key from which each refresh token''s successor is derived (nexus_private.issue_refresh_token); never handed out.';

-- migrate:down
alter table nexus_private.sessions drop column if exists refresh_secret;

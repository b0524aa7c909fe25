-- migrate:up
/*
 * Sessions: one row per sign-in (a browser, a phone), so a member's access can be ended without waiting for a
 * token to expire. A session hands out short access JWTs (JWT_TTL, carrying `session_id`) and one opaque refresh
 * token at a time; only the refresh token's SHA-256 is stored, so this table leaks nothing a client could replay.
 *
 * Refreshing rotates the token (the old one is marked `rotated_at`); an old token presented again within the
 * reuse window (10 s, two tabs refreshing at once) still works, later it revokes the whole session, as GoTrue
 * does: a stolen refresh token used after its owner refreshed ends the thief's and the owner's session alike.
 *
 * What a session is not: a check on every request. An access token is verified by signature and expiry only,
 * so a revoked session's access token lives until its `exp` (at most JWT_TTL); its refresh fails at once.
 *
 * Reached only through the security definer functions in db/functions/11_sessions.sql: no API role has grants.
 */
create table nexus_private.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  refreshed_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_reason text,
  user_agent text,
  client_address text,
  constraint sessions_revoked_reason check ((revoked_at is null) = (revoked_reason is null))
);
create index sessions_user_id_idx on nexus_private.sessions (user_id) where revoked_at is null;
comment on table nexus_private.sessions is 'One row per sign-in; revoked_at ends it (sign-out, password change, refresh token reuse, operator).';

create table nexus_private.refresh_tokens (
  id bigint generated always as identity primary key,
  session_id uuid not null references nexus_private.sessions (id) on delete cascade,
  token_hash bytea not null unique,
  parent_id bigint references nexus_private.refresh_tokens (id) on delete cascade,
  created_at timestamptz not null default now(),
  -- set when this token was exchanged for a newer one: from then on it is inside or past the reuse window
  rotated_at timestamptz
);
create index refresh_tokens_session_id_idx on nexus_private.refresh_tokens (session_id);
create index refresh_tokens_parent_id_idx on nexus_private.refresh_tokens (parent_id);
comment on table nexus_private.refresh_tokens is 'SHA-256 of each refresh token a session handed out; never the token itself.';

/*
 * What signing in or refreshing answers. A refusal is a row, not an exception, because a refusal writes too (the
 * failed-login count, the revocation of a session whose refresh token was replayed) and an exception would roll
 * that back. `error` is a stable code (UNAUTHENTICATED, RATE_LIMITED), `reason` GoTrue's error_code for it.
 */
create type auth.session_outcome as (
  user_id uuid,
  session_id uuid,
  refresh_token text,
  error text,
  reason text,
  detail text,
  retry_after integer
);

-- migrate:down
drop type if exists auth.session_outcome cascade;
drop table if exists nexus_private.refresh_tokens;
drop table if exists nexus_private.sessions;

/*
 * Which release's db/functions and db/policies the database holds: the digest core/database/migrate.ts
 * applyDefinitions recorded when it applied them (nexus_private.definitions_applied). The server and the worker
 * read it at start (core/database/schema.ts) and refuse to run on another release's definitions: after a
 * rollback's first step without its second (docs/operations.md, 8.1) the functions would be written for another
 * schema. Security definer, for nexus_authenticator only: it answers the digest, nothing else.
 */
create or replace function nexus_private.applied_definitions() returns text
language sql stable security definer set search_path = pg_catalog as $$
  select digest from nexus_private.definitions_applied limit 1
$$;
comment on function nexus_private.applied_definitions() is
  'The digest of the db/functions and db/policies files applied last (core/database/migrate.ts): read at start.';
revoke execute on function nexus_private.applied_definitions() from public;
grant execute on function nexus_private.applied_definitions() to nexus_authenticator;

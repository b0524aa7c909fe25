-- migrate:up
/*
 * Which migrations the database has, for the server's and the worker's start-up check (core/database/schema.ts):
 * they log in as nexus_authenticator, which may not read the dbmate schema, and should not. This function
 * (security definer, owned by the schema owner) answers the versions and nothing else, to that login only.
 *
 * It is a migration, not a db/functions file, so that it is there exactly when this migration is: a database
 * rolled back past it has no function, and a release that knows this migration refuses to start on it.
 */
create function nexus_private.applied_migrations() returns setof text
language sql stable security definer set search_path = pg_catalog as $$
  select version::text from dbmate.schema_migrations order by version
$$;
comment on function nexus_private.applied_migrations() is
  'The versions in dbmate.schema_migrations, for the start-up check of the server and the worker (nexus_authenticator may not read the dbmate schema).';
revoke execute on function nexus_private.applied_migrations() from public;
-- USAGE on nexus_private is granted in db/functions/16_queue_access.sql (re-applied after every migrate).
grant execute on function nexus_private.applied_migrations() to nexus_authenticator;

-- migrate:down
drop function if exists nexus_private.applied_migrations();

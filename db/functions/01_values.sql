/*
 * Pure helpers for values that arrive as text (webhook identities and metadata, JWT claims, a net named by id or
 * room name): one way to say "this is a uuid".
 */

/*
 * The value as a uuid when it is written as one (8-4-4-4-12 hex digits, either case), else null: never an error
 * for a value that is something else (a room name, a LiveKit identity from another frontend). Plain SQL,
 * immutable, so the planner inlines it and a comparison with it still reaches a uuid index.
 */
create or replace function nexus_private.as_uuid(value text) returns uuid
language sql immutable parallel safe as $$
  select case when value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then value::uuid end
$$;
comment on function nexus_private.as_uuid(text) is 'The text as a uuid when it is written as one, else null.';
grant execute on function nexus_private.as_uuid(text) to anon, authenticated, service_role;

-- migrate:up
/*
 * A sim pod grant: what one member may do in one sim pod's room, as the server signs it into a LiveKit token.
 * Returned by nexus_private.sim_pod_grant() and by public.accept_training() and public.join_sim_pod(), which
 * declared the same eleven columns each; now they return this one type. Columns are named apart from the
 * sim_pods columns so the PL/pgSQL functions returning them read unambiguously.
 *
 * Not a table: nothing stores a grant, it is decided afresh on every request (db/functions/62_academy_sim_pods.sql).
 */
-- Their return type changes, which `create or replace` cannot do: db/functions makes them again right after.
drop function if exists public.accept_training(uuid);
drop function if exists public.join_sim_pod(text);
drop function if exists nexus_private.sim_pod_grant(text, uuid);

create type public.sim_pod_grant as (
  sim_pod text,
  for_request uuid,
  room text,
  expires timestamptz,
  participant text,
  member_id uuid,
  callsign text,
  rank public.rank,
  can_publish boolean,
  can_subscribe boolean,
  room_admin boolean
);
-- GraphQL sees grants only as SimPodToken, signed (server/academy/graphql.ts).
comment on type public.sim_pod_grant is E'@behavior -*\nWhat one member may do in one sim pod''s room: the fields of its LiveKit token.';

-- migrate:down
drop function if exists public.accept_training(uuid);
drop function if exists public.join_sim_pod(text);
drop function if exists nexus_private.sim_pod_grant(text, uuid);
drop type if exists public.sim_pod_grant;

/*
 * Who may touch graphile-worker's queue (db/migrations/…_worker_role.sql): the worker's role, entirely; the API
 * server's login role, only to enqueue verified LiveKit webhook events; the API roles, not at all (operators read
 * and steer the queue through the security definer functions in 70_job_queue.sql).
 *
 * Re-applied after every migrate, after graphile-worker has installed or upgraded its schema, so tables a newer
 * graphile-worker adds are granted too.
 */
grant usage on schema graphile_worker to nexus_worker;
grant select, insert, update, delete on all tables in schema graphile_worker to nexus_worker;
grant usage, select on all sequences in schema graphile_worker to nexus_worker;
grant execute on all functions in schema graphile_worker to nexus_worker;

/*
 * Enqueue verified LiveKit webhook events: a JSON array of graphile-worker job specs ({identifier, payload,
 * job_key, max_attempts}): presence__apply_events jobs of a micro-batch of events each (server/presence/enqueue.ts),
 * or presence__apply_event jobs of one event each (job key = event id). Security definer: the server's login role
 * has no grant on graphile_worker, and those two are the only tasks it may add (anything else is BAD_REQUEST,
 * nothing added). The tasks validate each payload again.
 */
create or replace function nexus_private.enqueue_livekit_webhooks(specs json) returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, public
as $$
declare
  added integer;
begin
  if specs is null or json_typeof(specs) <> 'array' then
    perform nexus_private.fail('BAD_REQUEST', 'specs must be a JSON array of job specs');
  end if;
  if exists (select 1 from json_array_elements(specs) spec
              where spec ->> 'identifier' is null or spec ->> 'identifier' not in ('presence__apply_event', 'presence__apply_events')) then
    perform nexus_private.fail('BAD_REQUEST', 'only presence__apply_event(s) jobs may be enqueued here');
  end if;
  select count(*)::integer into added
    from graphile_worker.add_jobs(
      array(select json_populate_record(null::graphile_worker.job_spec, spec) from json_array_elements(specs) spec),
      true);
  return added;
end
$$;
comment on function nexus_private.enqueue_livekit_webhooks(json) is
  'Add verified LiveKit webhook events as presence__apply_events (a batch) or presence__apply_event jobs. The only enqueue the API server''s login role may do.';
revoke all on function nexus_private.enqueue_livekit_webhooks(json) from public;
-- USAGE only reaches what is granted one by one: for the login role, this one function.
grant usage on schema nexus_private to nexus_authenticator;
grant execute on function nexus_private.enqueue_livekit_webhooks(json) to nexus_authenticator;

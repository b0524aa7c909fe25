/*
 * Push delivery: rows of public.notification_queue and the graphile-worker jobs that send them (push__deliver,
 * a batch of row ids each). Rows and jobs are always written in one transaction, so a queued row always has a
 * job that will send it.
 */

/* A delivery job gives up after this many attempts (graphile-worker backs off exp(n) seconds: about half an hour in all). */
create or replace function nexus_private.push_delivery_max_attempts() returns integer
language sql immutable parallel safe as $$ select 8 $$;

/* Queue push__deliver jobs for these rows, batch_size rows a job. */
create or replace function nexus_private.enqueue_deliveries(ids bigint[], batch_size integer default 100)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  jobs integer;
begin
  if coalesce(cardinality(ids), 0) = 0 then
    return 0;
  end if;
  if batch_size is null or batch_size < 1 then
    perform nexus_private.fail('BAD_REQUEST', 'batch_size must be at least 1');
  end if;
  select count(*) into jobs from graphile_worker.add_jobs(array(
    select row('push__deliver', json_build_object('ids', batch.ids), null, null,
               nexus_private.push_delivery_max_attempts(), null, null, null)::graphile_worker.job_spec
      from (select array_agg(q.id order by q.id) as ids
              from (select u.id, (row_number() over (order by u.id) - 1) / batch_size as n
                      from unnest(ids) as u(id)) q
             group by q.n) batch
  ));
  return jobs;
end
$$;
grant execute on function nexus_private.enqueue_deliveries(bigint[], integer) to service_role;

/*
 * The entry point for any feature that pages one member (FLARE_ACKNOWLEDGED, SIM_POD_READY, …): a row for each
 * of their devices and the jobs to send them, in the caller's transaction. `type` is added to the payload.
 * With a dedupe_key, calling it again for the same event queues nothing new. Returns the number of rows queued
 * (0 when the member has no device). Call it from a security definer function, or as service_role.
 */
create or replace function nexus_private.enqueue_push(user_id uuid, type text, payload jsonb, dedupe_key text default null)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  queued_ids bigint[];
begin
  if enqueue_push.type is null or enqueue_push.type !~ '^[A-Z][A-Z0-9_]{0,63}$' then
    perform nexus_private.fail('BAD_REQUEST', 'a push type is upper-case letters, digits and underscores, like SIM_POD_READY');
  end if;
  if enqueue_push.payload is not null and jsonb_typeof(enqueue_push.payload) <> 'object' then
    perform nexus_private.fail('BAD_REQUEST', 'a push payload is a JSON object');
  end if;
  with queued_rows as (
    insert into public.notification_queue (type, user_id, subscription_id, payload, dedupe_key)
    select enqueue_push.type, s.user_id, s.id,
           coalesce(enqueue_push.payload, '{}'::jsonb) || jsonb_build_object('type', enqueue_push.type),
           enqueue_push.dedupe_key
      from public.push_subscriptions s
     where s.user_id = enqueue_push.user_id
    on conflict on constraint notification_queue_one_per_device do nothing
    returning id
  )
  select array(select r.id from queued_rows r order by r.id) into queued_ids;
  perform nexus_private.enqueue_deliveries(queued_ids);
  return cardinality(queued_ids);
end
$$;
comment on function nexus_private.enqueue_push(uuid, text, jsonb, text) is
  'Page one member on every device: one notification_queue row per subscription and the delivery jobs, in this transaction. Returns the rows queued.';
grant execute on function nexus_private.enqueue_push(uuid, text, jsonb, text) to service_role;

/*
 * The rows of a delivery job still to send, with their device's endpoint and keys, and the host and port the
 * endpoint names (the sender connects there and nowhere else). Rows whose device was removed since they were
 * queued (unsubscribed, or pruned after a 410) are marked failed here, as are rows whose device has since been
 * registered by another member (public.subscribe_push moves an endpoint to whoever subscribes it last: a shared
 * browser's next member must not receive the last one's pages, sealed with their keys), and rows whose endpoint is not on
 * the allowed list (`allowed`, the worker's PUSH_ALLOWED_HOSTS; null: this session's list): a device stored
 * before the list changed is never contacted. The list is asked about each distinct host and port of the job
 * once (nexus_private.push_target_refusal), not about each row: a flare's batch names one or two push services,
 * and asking per row cost more than the rest of this function.
 */
drop function if exists nexus_private.push_deliveries_due(bigint[]);
create or replace function nexus_private.push_deliveries_due(ids bigint[], allowed text default null)
returns table (id bigint, payload jsonb, endpoint text, p256dh text, auth text, attempts integer, host text, port integer)
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  allowed_list text := coalesce(nullif(btrim(push_deliveries_due.allowed), ''), nexus_private.push_allowed_hosts());
begin
  update public.notification_queue q
     set failed_at = now(),
         last_error = case when q.subscription_id is null then 'the device was unsubscribed before this was sent'
                           else 'the device was registered by another member before this was sent' end
   where q.id = any(push_deliveries_due.ids) and q.sent_at is null and q.failed_at is null
     and (q.subscription_id is null
          or not exists (select 1 from public.push_subscriptions s where s.id = q.subscription_id and s.user_id = q.user_id));
  return query
    with due as materialized (
      select q.id, q.payload, s.endpoint, s.p256dh, s.auth, q.attempts, t.host, t.port
        from public.notification_queue q
        -- the owner again: a move committed after the update above is never sent to the new owner (left due,
        -- the job's retry fails it)
        join public.push_subscriptions s on s.id = q.subscription_id and s.user_id = q.user_id
        cross join lateral nexus_private.push_endpoint_target(s.endpoint) t
       where q.id = any(push_deliveries_due.ids) and q.sent_at is null and q.failed_at is null
    ), verdict as materialized (
      select d.host, d.port, nexus_private.push_target_refusal(d.host, d.port, allowed_list) as refusal
        from (select distinct due.host, due.port from due) d
    ), judged as (
      select d.*, v.refusal
        from due d
        join verdict v on v.host is not distinct from d.host and v.port is not distinct from d.port
    ), refused as (
      update public.notification_queue q
         set failed_at = now(), last_error = 'not sent: ' || j.refusal
        from judged j
       where q.id = j.id and j.refusal is not null
    )
    select j.id, j.payload, j.endpoint, j.p256dh, j.auth, j.attempts, j.host, j.port
      from judged j
     where j.refusal is null
     order by j.id;
end
$$;
grant execute on function nexus_private.push_deliveries_due(bigint[], text) to service_role;

/*
 * Record what the push services answered, for one delivery job. outcomes: [{id, outcome, error}] where outcome is
 *   sent    201/202: sent_at, and the device's last_success_at
 *   gone    404/410: the row fails with the reason and the subscription is deleted
 *   retry   429, 5xx, network: attempts and last_error; the job is retried (on its last attempt the row fails)
 *   failed  refused for good (400, 403, 413…): the row fails with the reason
 * Rows already sent or failed are left alone, so recording twice (a job retried after a crash) changes nothing.
 * A device's last_success_at is kept to within the hour, so a flare to 10,000 devices does not rewrite 10,000
 * subscriptions that were reached a minute ago.
 */
create or replace function nexus_private.record_push_outcomes(outcomes jsonb, final_attempt boolean default false)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  ids bigint[] := array(select (o->>'id')::bigint from jsonb_array_elements(outcomes) o);
  reached uuid[];
  gone uuid[];
  failing uuid[];
begin
  with outcome as (
    select o.id, o.outcome, left(o.error, 1000) as error
      from jsonb_to_recordset(outcomes) as o(id bigint, outcome text, error text)
  ), recorded as (
    update public.notification_queue q
       set attempts = q.attempts + 1,
           sent_at = case when o.outcome = 'sent' then now() end,
           failed_at = case when o.outcome in ('gone', 'failed') or (o.outcome = 'retry' and final_attempt) then now() end,
           last_error = case when o.outcome = 'sent' then null else coalesce(o.error, o.outcome) end
      from outcome o
     -- by primary key: the table holds a month of rows, and its statistics may predate a big fan-out
     where q.id = any(ids) and q.id = o.id and q.sent_at is null and q.failed_at is null
    returning q.subscription_id, o.outcome
  )
  select array_agg(r.subscription_id) filter (where r.outcome = 'sent'),
         array_agg(r.subscription_id) filter (where r.outcome = 'gone'),
         array_agg(r.subscription_id) filter (where r.outcome in ('retry', 'failed'))
    into reached, gone, failing
    from recorded r;

  update public.push_subscriptions s set last_success_at = now(), failure_count = 0
   where s.id = any(reached)
     and (s.failure_count > 0 or s.last_success_at is null or s.last_success_at < now() - interval '1 hour');
  update public.push_subscriptions s set failure_count = s.failure_count + 1 where s.id = any(failing);
  delete from public.push_subscriptions s where s.id = any(gone);
end
$$;
grant execute on function nexus_private.record_push_outcomes(jsonb, boolean) to service_role;

/* Sent and failed rows are kept for a month for the runbook's queries and the ops page, then deleted (crontab). */
create or replace function nexus_private.prune_notification_queue(older_than interval default interval '30 days')
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  removed integer;
begin
  delete from public.notification_queue q
   where q.sent_at < now() - older_than or q.failed_at < now() - older_than;
  get diagnostics removed = row_count;
  return removed;
end
$$;
grant execute on function nexus_private.prune_notification_queue(interval) to service_role;

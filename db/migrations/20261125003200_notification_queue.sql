-- migrate:up
/*
 * The notification queue: one row per push delivery, that is one message to one device (a member with a phone
 * and a laptop gets two rows). A row is written before anything is sent, in the same transaction as the job that
 * will send it, so a crash anywhere loses nothing: the worst a crash between sending and recording can do is
 * send a message twice.
 *
 * A row is pending while sent_at and failed_at are both null; sent when the push service accepted it (201/202);
 * failed when the device is gone (404/410, and the subscription is deleted), the push service refused it for
 * good, or retries ran out; last_error says why. `attempts` counts sends.
 *
 * Rows of one fan-out share a dedupe_key (a rescue flare's is 'flare:<id>'): a fan-out that runs again after a
 * crash skips the devices it already queued. The runbook's monitoring SQL (pending by type, recent deliveries)
 * reads this table as it is.
 *
 * Not a member's inbox: members never read it; the worker (service_role) and operators do.
 */
create table public.notification_queue (
  id bigint generated always as identity primary key,
  type text not null,
  user_id uuid not null references public.profiles (id) on delete cascade,
  subscription_id uuid references public.push_subscriptions (id) on delete set null,
  payload jsonb not null,
  dedupe_key text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  attempts integer not null default 0,
  last_error text,
  failed_at timestamptz,
  constraint notification_queue_type_format check (type ~ '^[A-Z][A-Z0-9_]{0,63}$'),
  constraint notification_queue_payload_object check (jsonb_typeof(payload) = 'object'),
  constraint notification_queue_sent_or_failed check (sent_at is null or failed_at is null),
  constraint notification_queue_attempts check (attempts >= 0),
  -- Rows without a dedupe_key never conflict (nulls are distinct).
  constraint notification_queue_one_per_device unique (dedupe_key, subscription_id)
);
alter table public.notification_queue enable row level security;

create index notification_queue_user_id_idx on public.notification_queue (user_id);
-- Deleting a subscription (410 Gone) sets its rows' subscription_id to null: find them by index.
create index notification_queue_subscription_id_idx on public.notification_queue (subscription_id);
-- The runbook's "pending notifications" and "recent deliveries".
create index notification_queue_pending_type_idx on public.notification_queue (type) where sent_at is null;
create index notification_queue_sent_at_idx on public.notification_queue (sent_at desc) where sent_at is not null;

comment on table public.notification_queue is
  E'@behavior -*\nOne row per push delivery (one message to one device): pending, sent or failed, with attempts and the last error.';
comment on column public.notification_queue.type is 'RESCUE_FLARE, FLARE_ACKNOWLEDGED, FLARE_RESOLVED, FLARE_CANCELLED, SIM_POD_READY, …';
comment on column public.notification_queue.payload is 'The JSON the device receives (encrypted): type, the subject''s id and what a phone shows.';
comment on column public.notification_queue.dedupe_key is 'Rows of one fan-out share it, so a repeated fan-out queues each device once.';

grant select, insert, update, delete on public.notification_queue to service_role;

-- migrate:down
-- The functions db/functions/52_notification_queue.sql adds for the queue go with it.
drop function if exists nexus_private.enqueue_push(uuid, text, jsonb, text);
drop function if exists nexus_private.enqueue_deliveries(bigint[], integer);
drop function if exists nexus_private.push_deliveries_due(bigint[]);
drop function if exists nexus_private.push_deliveries_due(bigint[], text);
drop function if exists nexus_private.record_push_outcomes(jsonb, boolean);
drop function if exists nexus_private.prune_notification_queue(interval);
drop function if exists nexus_private.push_delivery_max_attempts();
drop table if exists public.notification_queue;

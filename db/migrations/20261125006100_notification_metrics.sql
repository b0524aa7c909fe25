-- migrate:up
/*
 * /metrics reports notifications failed in the last hour next to those sent (the runbook's "recent deliveries"
 * already has its index on sent_at). Without this index every scrape would read the whole queue.
 */
create index notification_queue_failed_at_idx on public.notification_queue (failed_at desc) where failed_at is not null;

-- migrate:down
drop index if exists public.notification_queue_failed_at_idx;

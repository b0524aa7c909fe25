-- migrate:up
-- How many training requests a cadet made in the last day (public.request_training's limit) is read from here.
create index academy_requests_cadet_created_idx on public.academy_requests (cadet_id, created_at);

-- migrate:down
drop index if exists public.academy_requests_cadet_created_idx;

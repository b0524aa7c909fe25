-- migrate:up
/*
 * Flares by status: what a member's app lists ("open flares near me", "my resolved ones") with
 * `rescueFlares(condition: { status: OPEN }, orderBy: CREATED_AT_DESC)`. PostGraphile offers a condition or an
 * ordering only on indexed columns (a filter on an unindexed column is a sequential scan per request), so this
 * index is what makes `status` filterable; newest first within a status, as the app shows them.
 */
create index rescue_flares_status_created_at_idx on public.rescue_flares (status, created_at desc);

-- migrate:down
drop index if exists public.rescue_flares_status_created_at_idx;

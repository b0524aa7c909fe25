-- migrate:up
/*
 * The voice token decision charges the LiveKit token bucket itself (public.issue_voice_grants), one upsert per net
 * granted, instead of a wrapper that ran the decision through a cursor and then charged the whole batch
 * (nexus_private.issue_charged_voice_grants through take_rate_limit_upto). charge_rate_limit gains `refuse`
 * (return false instead of raising) and returns whether it took the tokens, which `create or replace` cannot
 * change; db/functions makes it again right after. rate_limited() had no caller.
 */
drop function if exists nexus_private.issue_charged_voice_grants(text[]);
drop function if exists nexus_private.take_rate_limit_upto(text, integer[]);
drop function if exists nexus_private.rate_limited(text, integer, anyelement);
drop function if exists nexus_private.charge_rate_limit(uuid, text, integer);

-- migrate:down
-- The functions are db/functions' to define: they are made again from there after every migrate.
drop function if exists nexus_private.charge_rate_limit(uuid, text, integer, boolean);

-- migrate:up
/*
 * A session keeps only its newest rotated refresh tokens (nexus.refresh_tokens_kept, default 10; see
 * auth.refresh_session), so a session refreshed in a loop no longer grows a row per refresh. Deleting an old token
 * must not take the chain it started with it: a token's parent link is cleared instead of cascading.
 */
alter table nexus_private.refresh_tokens drop constraint refresh_tokens_parent_id_fkey;
alter table nexus_private.refresh_tokens add constraint refresh_tokens_parent_id_fkey
  foreign key (parent_id) references nexus_private.refresh_tokens (id) on delete set null;

-- migrate:down
alter table nexus_private.refresh_tokens drop constraint refresh_tokens_parent_id_fkey;
alter table nexus_private.refresh_tokens add constraint refresh_tokens_parent_id_fkey
  foreign key (parent_id) references nexus_private.refresh_tokens (id) on delete cascade;

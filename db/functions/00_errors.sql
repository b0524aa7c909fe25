/*
 * Stable error codes. Every rule in this database refuses with
 *   raise exception using errcode = 'NX4xx', message = '<CODE>', detail = '<sentence for a person>';
 * so the edge (GraphQL extensions.code, REST {error, message} and status) maps them once, in core/errors.ts.
 * The SQLSTATE carries the HTTP-ish class, the message the stable code:
 *   NX400 BAD_REQUEST · NX401 UNAUTHENTICATED · NX403 INSUFFICIENT_CLEARANCE · NX404 NOT_FOUND
 *   NX409 CONFLICT · NX429 RATE_LIMITED
 */
create or replace function nexus_private.fail(code text, detail text) returns void
language plpgsql immutable parallel safe as $$
begin
  perform nexus_private.fail(code, detail, null);
end
$$;
comment on function nexus_private.fail(text, text) is 'Raise a stable API error: code is one of BAD_REQUEST, UNAUTHENTICATED, INSUFFICIENT_CLEARANCE, NOT_FOUND, CONFLICT, RATE_LIMITED.';
grant execute on function nexus_private.fail(text, text) to anon, authenticated, service_role;

/*
 * The same with a finer reason for the caller, carried in the HINT as `reason=<word>` (weak_password,
 * user_already_exists, …): the /auth/v1 routes answer it as GoTrue's error_code, so supabase-js raises the
 * matching error (AuthWeakPasswordError for weak_password).
 */
create or replace function nexus_private.fail(code text, detail text, reason text) returns void
language plpgsql immutable parallel safe as $$
begin
  raise exception using
    errcode = case code
      when 'BAD_REQUEST' then 'NX400'
      when 'UNAUTHENTICATED' then 'NX401'
      when 'INSUFFICIENT_CLEARANCE' then 'NX403'
      when 'NOT_FOUND' then 'NX404'
      when 'CONFLICT' then 'NX409'
      when 'RATE_LIMITED' then 'NX429'
      else 'NX500' end,
    message = code,
    detail = detail,
    hint = coalesce('reason=' || reason, '');
end
$$;
grant execute on function nexus_private.fail(text, text, text) to anon, authenticated, service_role;

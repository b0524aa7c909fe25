-- migrate:up
/*
 * Which push services the worker may contact. A push subscription's endpoint is a URL a browser handed over, and
 * the worker POSTs to it: without a rule, any member could make it call loopback, the cloud metadata address or
 * anything on the private network, and read the outcome back (last_success_at, failure_count, the row vanishing
 * on 404). So an endpoint is stored only when its host and port are on the allowed list, however the row
 * arrives (subscribePush, the REST route, an operator's insert in the SQL editor), and the worker asks the same
 * question again before every send (nexus_private.push_deliveries_due), for rows stored before the list changed.
 *
 * The list is the `nexus.push_allowed_hosts` setting: the server and the worker pass PUSH_ALLOWED_HOSTS with every
 * request; a SQL session sees what the operator set (`alter database … set nexus.push_allowed_hosts = '…'`), and
 * without either, the push services browsers use. Entries are comma-separated `host` or `host:port`: `*.` in
 * front allows the subdomains of a name (not the name itself), `:*` any port, no port 443 only. An IP address
 * matches only an entry that is that address, written the same way; a host that a URL parser would read as an
 * IPv4 address in any other form (127.1, 2130706433, 0x7f000001) matches nothing.
 *
 * Not a firewall: the names on the list must resolve to the push services they name. Operators list names they
 * trust, and the default lists only the browsers' own push services.
 */

/* The push services of Chrome/Android (FCM and its legacy GCM name), Firefox, Edge/Windows and Safari. */
create function nexus_private.push_default_allowed_hosts() returns text
language sql immutable parallel safe as $$
  select 'fcm.googleapis.com,android.googleapis.com,updates.push.services.mozilla.com,*.notify.windows.com,*.push.apple.com'
$$;

/* The allowed list in force for this session or request. */
create function nexus_private.push_allowed_hosts() returns text
language sql stable parallel safe set search_path = pg_catalog as $$
  select coalesce(nullif(btrim(current_setting('nexus.push_allowed_hosts', true)), ''), nexus_private.push_default_allowed_hosts())
$$;

/*
 * The host (lower case; IPv6 with its brackets) and port an endpoint names, exactly as written; null for anything
 * that is not an https:// URL with a plain host (nexus_private.is_push_endpoint: no credentials, no percent
 * escapes, no backslashes), so no two parsers can read a different host out of it.
 */
create function nexus_private.push_endpoint_target(endpoint text, out host text, out port integer)
language plpgsql immutable parallel safe set search_path = pg_catalog as $$
declare
  parts text[];
begin
  if endpoint is null or not nexus_private.is_push_endpoint(endpoint) then
    return;
  end if;
  parts := regexp_match(lower(endpoint), '^https://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?(?:/|$)');
  if parts is null then
    return;
  end if;
  host := parts[1];
  port := coalesce(parts[2]::integer, 443);
end
$$;

/*
 * Why this endpoint may not be contacted under this allowed list (comma-separated entries), or null when it may.
 * Entries that are not well formed match nothing.
 */
create function nexus_private.push_endpoint_refusal(endpoint text, allowed text)
returns text
language plpgsql immutable parallel safe set search_path = pg_catalog as $$
declare
  target record;
  is_ip boolean;
  entry text;
  e text[];
  entry_host text;
  entry_port text;
  canonical_ipv4 constant text := '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$';
begin
  target := nexus_private.push_endpoint_target(endpoint);
  if target.host is null then
    return 'the endpoint is not an https:// URL with a plain host name';
  end if;
  if target.port < 1 or target.port > 65535 then
    return format('the endpoint''s port %s is not a TCP port', target.port);
  end if;
  -- A URL parser reads a host whose last label is a number (decimal, or hex with 0x) as an IPv4 address.
  if split_part(target.host, '.', -1) ~ '^([0-9]+|0x[0-9a-f]*)$' then
    if target.host !~ canonical_ipv4 then
      return format('the endpoint''s host %s is an IPv4 address in a non-canonical form', target.host);
    end if;
    is_ip := true;
  else
    is_ip := target.host like '[%';
  end if;

  foreach entry in array string_to_array(lower(coalesce(allowed, '')), ',') loop
    e := regexp_match(btrim(entry), '^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}|\*))?$');
    continue when e is null;
    entry_host := e[2];
    entry_port := coalesce(e[3], '443');
    continue when entry_port <> '*' and entry_port::integer <> target.port;
    if e[1] is null and entry_host = target.host then
      return null;
    end if;
    -- `*.name` is the subdomains of a name: never an address, never the name itself.
    if e[1] is not null and not is_ip and entry_host !~ '^\[' and split_part(entry_host, '.', -1) !~ '^([0-9]+|0x[0-9a-f]*)$'
       and right(target.host, length(entry_host) + 1) = '.' || entry_host then
      return null;
    end if;
  end loop;
  return format('the push service %s:%s is not on the allowed list (PUSH_ALLOWED_HOSTS)', target.host, target.port);
end
$$;

grant execute on function nexus_private.push_default_allowed_hosts(), nexus_private.push_allowed_hosts(),
  nexus_private.push_endpoint_target(text), nexus_private.push_endpoint_refusal(text, text) to service_role;

/* Every row written to push_subscriptions, by any role and any path, names an allowed push service. */
create function nexus_private.push_subscriptions_allowed_host() returns trigger
language plpgsql security definer set search_path = pg_catalog as $$
declare
  refusal text := nexus_private.push_endpoint_refusal(new.endpoint, nexus_private.push_allowed_hosts());
begin
  if refusal is not null then
    perform nexus_private.fail('BAD_REQUEST', 'endpoint refused: ' || refusal);
  end if;
  return new;
end
$$;

create trigger push_subscriptions_allowed_host before insert or update of endpoint on public.push_subscriptions
  for each row execute function nexus_private.push_subscriptions_allowed_host();

-- migrate:down
drop trigger if exists push_subscriptions_allowed_host on public.push_subscriptions;
drop function if exists nexus_private.push_subscriptions_allowed_host();
drop function if exists nexus_private.push_endpoint_refusal(text, text);
drop function if exists nexus_private.push_endpoint_target(text);
drop function if exists nexus_private.push_allowed_hosts();
drop function if exists nexus_private.push_default_allowed_hosts();

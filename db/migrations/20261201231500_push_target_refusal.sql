-- migrate:up
/*
 * Which push services the worker may contact, asked per push service rather than per endpoint. Whether an
 * endpoint may be contacted depends only on the host and port it names (nexus_private.push_endpoint_target) and
 * the allowed list, so the question has a form that takes those two: nexus_private.push_deliveries_due asks it
 * once for each distinct host and port in a delivery job (a flare's batch of 100 rows names one or two push
 * services) instead of once for each row, and push_endpoint_refusal (the trigger on push_subscriptions, every
 * other caller) is that question about the endpoint's own host and port. The rule itself is unchanged.
 */
create function nexus_private.push_target_refusal(host text, port integer, allowed text)
returns text
language plpgsql immutable parallel safe set search_path = pg_catalog as $$
declare
  is_ip boolean;
  entry text;
  e text[];
  entry_host text;
  entry_port text;
  canonical_ipv4 constant text := '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$';
begin
  if host is null then
    return 'the endpoint is not an https:// URL with a plain host name';
  end if;
  if push_target_refusal.port < 1 or push_target_refusal.port > 65535 then
    return format('the endpoint''s port %s is not a TCP port', push_target_refusal.port);
  end if;
  -- A URL parser reads a host whose last label is a number (decimal, or hex with 0x) as an IPv4 address.
  if split_part(push_target_refusal.host, '.', -1) ~ '^([0-9]+|0x[0-9a-f]*)$' then
    if push_target_refusal.host !~ canonical_ipv4 then
      return format('the endpoint''s host %s is an IPv4 address in a non-canonical form', push_target_refusal.host);
    end if;
    is_ip := true;
  else
    is_ip := push_target_refusal.host like '[%';
  end if;

  foreach entry in array string_to_array(lower(coalesce(allowed, '')), ',') loop
    e := regexp_match(btrim(entry), '^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}|\*))?$');
    continue when e is null;
    entry_host := e[2];
    entry_port := coalesce(e[3], '443');
    continue when entry_port <> '*' and entry_port::integer <> push_target_refusal.port;
    if e[1] is null and entry_host = push_target_refusal.host then
      return null;
    end if;
    -- `*.name` is the subdomains of a name: never an address, never the name itself.
    if e[1] is not null and not is_ip and entry_host !~ '^\[' and split_part(entry_host, '.', -1) !~ '^([0-9]+|0x[0-9a-f]*)$'
       and right(push_target_refusal.host, length(entry_host) + 1) = '.' || entry_host then
      return null;
    end if;
  end loop;
  return format('the push service %s:%s is not on the allowed list (PUSH_ALLOWED_HOSTS)', push_target_refusal.host, push_target_refusal.port);
end
$$;

create or replace function nexus_private.push_endpoint_refusal(endpoint text, allowed text)
returns text
language sql immutable parallel safe set search_path = pg_catalog as $$
  select nexus_private.push_target_refusal(t.host, t.port, allowed) from nexus_private.push_endpoint_target(endpoint) t
$$;

grant execute on function nexus_private.push_target_refusal(text, integer, text) to service_role;

-- migrate:down
create or replace function nexus_private.push_endpoint_refusal(endpoint text, allowed text)
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

drop function if exists nexus_private.push_target_refusal(text, integer, text);

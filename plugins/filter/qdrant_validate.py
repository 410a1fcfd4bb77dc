# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: qdrant_validation_errors.yml beside this file.
#
# The variable checks of the peekoff.qdrant roles (each role's tasks/validate.yml is one task of the action
# peekoff.qdrant.qdrant_validate, which runs these checks). Pure checks: no cluster access. They follow the Jinja
# expressions the roles had, with Jinja's and Ansible's semantics: `x | string` is str(x) (True is 'True'),
# `x is match(re)` is re.match on the text of x (ansible.plugins.test.core.regex: to_text(value)), `x | int` is
# jinja2.filters.do_int (0 for a non-number),
# `x | bool` is ansible.plugins.filter.core.to_bool. Values typed with -e arrive as strings ('5', 'true').
# Where the old expressions raised a templating error (a wrong type), the check now fails with its message.

import ipaddress
import json
import os
import re

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# RFC 1123 label (Namespace names) and subdomain (most object names).
DNS_LABEL = r'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
DNS_SUBDOMAIN = r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
# Kubernetes quantity without exponent (m only fits CPU: a storage size must also have a byte suffix).
QUANTITY = r'^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$'
# The byte suffixes of a Kubernetes quantity (k8s.io/apimachinery pkg/api/resource/quantity.go).
BYTE_SUFFIXES = ('', 'k', 'M', 'G', 'T', 'P', 'E', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei')
ZERO_QUANTITY = r'^0+(\.0+)?[A-Za-z]*$'
DIGITS = r'^[0-9]+$'
# Secret data keys: letters, digits, '-', '_' and '.'.
SECRET_KEY = r'^[-._a-zA-Z0-9]+$'
# Go duration as External Secrets Operator parses refreshInterval (0 disables refresh).
DURATION = r'^(0|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$'
# Qdrant version X.Y.Z; image tags vX.Y.Z with an optional suffix such as -unprivileged.
VERSION = r'^[0-9]+\.[0-9]+\.[0-9]+$'
IMAGE_TAG = r'^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z][-.0-9A-Za-z]*)?$'
# Gateway API hostname: RFC 1123 subdomain, optionally with a leading '*.' wildcard label.
HOSTNAME = r'^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
PORT = r'^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$'
# Keys a Gateway API ParentReference may have.
PARENT_REF_KEYS = ('group', 'kind', 'namespace', 'name', 'sectionName', 'port')
HTTP_URL = r'^https?://[^\s/]+'
# Qdrant's internal (p2p) port between peers; the role owns it.
P2P_PORT = 6335

# Qdrant settings the role owns or refuses: never in qdrant_config (service.<key>) or qdrant_extra_env
# (QDRANT__SERVICE__<KEY>, matched in any case): (key, why, what to use instead).
OWNED_SERVICE_SETTINGS = (
    ('api_key', 'a ConfigMap or plain env is readable by anyone who can read the namespace',
     'the Secret the secrets role provides (qdrant_secret_backend, qdrant_api_key_secret_name)'),
    ('read_only_api_key', 'a ConfigMap or plain env is readable by anyone who can read the namespace',
     'qdrant_read_only_api_key_enabled (the key then comes from the Secret)'),
    ('alt_api_key', 'it is a second full key (and a second JWT secret): a ConfigMap or plain env is readable by anyone '
     'who can read the namespace', 'playbooks/rotate_key.yml, or qdrant_alt_api_key_secret_key (the key then comes '
     'from the Secret)'),
    ('jwt_rbac', 'the role sets it, and qdrant_check must know it to prove the tokens', 'qdrant_jwt_rbac'),
    ('metrics_port', 'Qdrant serves /metrics on that port without any authentication',
     'nothing: scrape /metrics on qdrant_http_port with the read-only key (qdrant_read_only_api_key_enabled)'),
)
# Container env the workload template sets itself (or leaves unset on purpose: TEMP_PATH keeps snapshot staging on
# the data volume); qdrant_extra_env may not override them.
MANAGED_ENV = ('QDRANT__SERVICE__HTTP_PORT', 'QDRANT__SERVICE__GRPC_PORT', 'QDRANT__LOG_LEVEL', 'QDRANT__TELEMETRY_DISABLED',
               'QDRANT__STORAGE__TEMP_PATH', 'QDRANT__STORAGE__SNAPSHOTS_PATH', 'QDRANT_INIT_FILE_PATH',
               'QDRANT__CLUSTER__ENABLED', 'QDRANT__CLUSTER__P2P__PORT',
               'QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH', 'QDRANT_URI', 'QDRANT_BOOTSTRAP')

_BOOL_TRUE = ('yes', 'on', 'true', '1')


def _text(value):
    """The text `x is match(..)` and `x | string` see (ansible to_text / Jinja soft_str: str(True) is 'True')."""
    if isinstance(value, bytes):
        return value.decode('utf-8', 'surrogateescape')
    return value if isinstance(value, str) else str(value)


def _match(pattern, value):
    """`value is match(pattern)` (ansible.plugins.test.core.regex, match_type='match')."""
    return re.match(pattern, _text(value)) is not None


def _str_match(pattern, value):
    """`value is string and value is match(pattern)`."""
    return isinstance(value, str) and re.match(pattern, value) is not None


def _int(value):
    """`value | int` (jinja2.filters.do_int: 0 when it is no number; '42.23' gives 42)."""
    try:
        if isinstance(value, str):
            return int(value, 10)
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def _whole(value):
    """`value | string is match('^[0-9]+$')`: a whole number, also as typed with -e ('5')."""
    return _match(DIGITS, value)


def _bool(value):
    """`value | bool` (ansible.plugins.filter.core.to_bool, without its deprecation warning for odd values)."""
    if isinstance(value, str):
        return value.lower() in _BOOL_TRUE
    if isinstance(value, int):
        return str(value).lower() in _BOOL_TRUE
    try:
        return value == 1
    except TypeError:
        return False


def _len(value):
    """`value | length` (None counts as empty instead of failing the template)."""
    if value is None:
        return 0
    try:
        return len(value)
    except TypeError:
        return len(_text(value))


def _cidr(value):
    """A CIDR as a NetworkPolicy ipBlock takes it (address/prefix length, IPv4 or IPv6)."""
    if not isinstance(value, str) or '/' not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _j(value):
    """`value | to_json`."""
    return json.dumps(value, default=_text)


def _items(value):
    """The elements Jinja's filters iterate over (a string iterates over its characters, a mapping its keys)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return list(_text(value))
    try:
        return list(value)
    except TypeError:
        return [value]


def _mapping(value):
    """`value | default({})` where a non-mapping would only fail the template: {}."""
    return value if isinstance(value, Mapping) else {}


def _unique(values):
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _attr(entry, name):
    """(defined, value) of `entry.name` as Jinja's selectattr/map(attribute=...) see it on a dict entry."""
    if isinstance(entry, Mapping) and name in entry:
        return True, entry[name]
    return False, None


def _namespace_message(v):
    return ("qdrant_namespace=%s is not a valid Namespace name: use lower-case letters, digits and '-', "
            "at most 63 characters (for example qdrant)." % _j(v.get('qdrant_namespace')))


def _secrets(v):
    errors = []
    if not _str_match(DNS_LABEL, v['qdrant_namespace']):
        errors.append(_namespace_message(v))
    for key in ('qdrant_api_key_secret_name', 'qdrant_secret_store'):
        if not _str_match(DNS_SUBDOMAIN, v[key]):
            errors.append("%s=%s is not a valid Kubernetes object name: use lower-case letters, digits, '-' and '.'."
                          % (key, _j(v[key])))
    same = v['qdrant_api_key_secret_key'] == v['qdrant_read_only_api_key_secret_key']
    for key in ('qdrant_api_key_secret_key', 'qdrant_read_only_api_key_secret_key'):
        if not _str_match(SECRET_KEY, v[key]) or same:
            errors.append("%s=%s is not usable: a Secret data key has only letters, digits, '-', '_' and '.', and the "
                          "full and read-only keys need different names (defaults QDRANT__SERVICE__API_KEY and "
                          "QDRANT__SERVICE__READ_ONLY_API_KEY)." % (key, _j(v[key])))
    backend = v['qdrant_secret_backend']
    if backend == 'external-secrets':
        if not _match(DURATION, v['qdrant_secret_refresh_interval']):
            errors.append("qdrant_secret_refresh_interval=%s is not a duration: use for example 1h, 15m or 1h30m "
                          "(0 disables refreshing)." % _j(v['qdrant_secret_refresh_interval']))
        if not (_len(v['qdrant_secret_remote_key']) > 0 and _len(v['qdrant_secret_read_only_remote_key']) > 0):
            errors.append("qdrant_secret_remote_key and qdrant_secret_read_only_remote_key must name the entries in "
                          "the secret store (defaults app-qdrant-api-key and app-qdrant-read-only-api-key).")
    if backend == 'kubernetes':
        key, ro_key, length = v['qdrant_api_key'], v['qdrant_read_only_api_key'], v['qdrant_api_key_length']
        if not (_whole(length) and _int(length) >= 32
                and (_len(key) == 0 or _len(key) >= 16)
                and (_len(key) == 0 or key != ro_key)):
            # The message names the variables, never the values.
            errors.append("Weak or reused key: qdrant_api_key_length must be at least 32, qdrant_api_key (when set) "
                          "at least 16 characters, and qdrant_read_only_api_key must differ from qdrant_api_key "
                          "(values not shown).")
    render_dir, path = v['qdrant_render_dir'], v['qdrant_render_secret_path']
    if _len(render_dir) > 0 and backend == 'kubernetes' and v['qdrant_state'] == 'present':
        if not (_len(path) > 0 and os.path.isabs(_text(path))
                and re.match(r'\.\./', os.path.relpath(os.path.realpath(_text(path)), os.path.realpath(_text(render_dir))))):
            errors.append(
                "qdrant_secret_backend=kubernetes with qdrant_render_dir=%s would put the API key into the directory "
                "meant for Git; refused. Choose one: qdrant_secret_backend=external-secrets (only the ExternalSecret, "
                "which holds no key, is rendered; External Secrets Operator writes the Secret in the cluster); or "
                "qdrant_render_secret_path=/absolute/path/secret.yaml outside qdrant_render_dir (the Secret is written "
                "there with mode 0600, to apply or seal yourself); or leave qdrant_render_dir empty and let the roles "
                "apply the Secret (got qdrant_render_secret_path=%s)." % (_j(render_dir), _j(path)))
    return errors


def _storage_size_ok(size, byte_suffix):
    if not (_str_match(QUANTITY, size) and not _match(ZERO_QUANTITY, size)):
        return False
    return not byte_suffix or re.sub(r'^[0-9.]+', '', size) in BYTE_SUFFIXES


def _storage_class_ok(value):
    return _len(value) == 0 or _match(DNS_SUBDOMAIN, value)


def _replicas_ok(value):
    return _whole(value) and _int(value) >= 1 and _int(value) != 2


def _storage(v):
    errors = []
    if not _str_match(DNS_LABEL, v['qdrant_namespace']):
        errors.append(_namespace_message(v))
    for key in ('qdrant_name', 'qdrant_storage_pvc_name'):
        if not _str_match(DNS_LABEL, v[key]):
            errors.append("%s=%s is not a valid object name: use lower-case letters, digits and '-', at most 63 "
                          "characters." % (key, _j(v[key])))
    if not _storage_size_ok(v['qdrant_storage_size'], True):
        errors.append("qdrant_storage_size=%s is not a Kubernetes storage quantity: set a number above zero with a "
                      "binary suffix, for example 50Gi or 200Gi." % _j(v['qdrant_storage_size']))
    if not _storage_class_ok(v['qdrant_storage_class']):
        errors.append("qdrant_storage_class=%s is not a valid StorageClass name: use the name shown by `kubectl get "
                      "storageclass`, or \"\" for the cluster default." % _j(v['qdrant_storage_class']))
    render_dir = v['qdrant_render_dir']
    if not (_len(render_dir) == 0 or (_match('^/', render_dir) and not os.path.isfile(_text(render_dir)))):
        errors.append("qdrant_render_dir=%s must be an absolute path of a directory, not of a file (or \"\" to apply "
                      "to the cluster)." % _j(render_dir))
    if not _replicas_ok(v['qdrant_replicas']):
        errors.append("qdrant_replicas=%s is not usable: give a whole number, 1 (single node) or 3 or more peers (2 is "
                      "refused: raft needs a majority of the peers, and the majority of 2 is both; see the qdrant "
                      "role)." % _j(v['qdrant_replicas']))
    return errors


def _port_ok(value):
    return _whole(value) and 0 < _int(value) < 65536


def _is_sequence(value):
    """Jinja's `sequence` test: anything with a length and item access (strings and mappings too)."""
    return hasattr(value, '__len__') and hasattr(value, '__getitem__')


def _qdrant(v):
    errors = []
    for key in ('qdrant_namespace', 'qdrant_name', 'qdrant_storage_pvc_name'):
        if not _str_match(DNS_LABEL, v[key]):
            errors.append("%s=%s is not a valid name: use lower-case letters, digits and '-', at most 63 characters."
                          % (key, _j(v[key])))
    if not _match(DNS_SUBDOMAIN, v['qdrant_api_key_secret_name']):
        errors.append("qdrant_api_key_secret_name=%s is not a valid Secret name: use lower-case letters, digits, '-' "
                      "and '.' (default app-qdrant-api-key)." % _j(v['qdrant_api_key_secret_name']))
    alt = v['qdrant_alt_api_key_secret_key']
    if alt not in ('', None) and (not _str_match(SECRET_KEY, alt) or alt in (
            v['qdrant_api_key_secret_key'], v['qdrant_read_only_api_key_secret_key'])):
        errors.append("qdrant_alt_api_key_secret_key=%s is not usable: empty (no second key, the default) or a Secret "
                      "data key (letters, digits, '-', '_' and '.') other than qdrant_api_key_secret_key and "
                      "qdrant_read_only_api_key_secret_key." % _j(alt))
    if not (_match(VERSION, v['qdrant_version']) and _match(IMAGE_TAG, v['qdrant_image_tag'])):
        errors.append("qdrant_version=%s / qdrant_image_tag=%s are not usable: qdrant_version is X.Y.Z (for example "
                      "1.19.0) and qdrant_image_tag a release tag such as v1.19.0-unprivileged (never latest or dev: "
                      "the upgrade guard needs the version)." % (_j(v['qdrant_version']), _j(v['qdrant_image_tag'])))
    http, grpc = v['qdrant_http_port'], v['qdrant_grpc_port']
    if not (_port_ok(http) and _port_ok(grpc) and _int(http) != _int(grpc) and P2P_PORT not in (_int(http), _int(grpc))):
        errors.append("qdrant_http_port=%s and qdrant_grpc_port=%s must be two different ports between 1 and 65535, "
                      "not 6335 (Qdrant's cluster port); defaults 6333 and 6334." % (_text(http), _text(grpc)))
    for key in ('qdrant_snapshots_size_limit', 'qdrant_tmp_size_limit'):
        if not _str_match(QUANTITY, v[key]):
            errors.append("%s=%s is not a Kubernetes quantity: use for example 20Gi." % (key, _j(v[key])))
    threshold, timeout = v['qdrant_startup_probe_failure_threshold'], v['qdrant_wait_timeout']
    if not (_whole(threshold) and _int(threshold) >= 1 and _whole(timeout) and 1 <= _int(timeout) <= 86400):
        errors.append("qdrant_startup_probe_failure_threshold=%s and qdrant_wait_timeout=%s must be whole numbers: the "
                      "threshold at least 1, the timeout between 1 and 86400 seconds (defaults 120 and 300)."
                      % (_j(threshold), _j(timeout)))
    if _bool(v['qdrant_network_policy_enabled']):
        namespaces = _items(v['qdrant_network_policy_ingress_namespaces']) + [v['qdrant_network_policy_dns_namespace']]
        if [n for n in namespaces if not _match(DNS_LABEL, n)]:
            errors.append("qdrant_network_policy_ingress_namespaces=%s and qdrant_network_policy_dns_namespace=%s must "
                          "be Namespace names (lower-case letters, digits, '-'), for example [gateway]."
                          % (_j(v['qdrant_network_policy_ingress_namespaces']),
                             _j(v['qdrant_network_policy_dns_namespace'])))
    cidrs = v['qdrant_network_policy_api_server_cidrs']
    if not isinstance(cidrs, list) or [c for c in cidrs if not _cidr(c)]:
        errors.append("qdrant_network_policy_api_server_cidrs=%s must be a list of CIDRs (an address and a prefix "
                      "length, e.g. [10.0.0.10/32]): the addresses the Kubernetes API server reaches pods from "
                      "(default [])." % _j(cidrs))
    config = _mapping(v['qdrant_config'])
    service = _mapping(config.get('service'))
    for key, why, instead in OWNED_SERVICE_SETTINGS:
        if key in service:
            errors.append("qdrant_config.service.%s is not allowed: %s. Use %s." % (key, why, instead))
    env = _items(v['qdrant_extra_env'])
    named = [e for e in env if _attr(e, 'name')[0]]
    if len(named) != len(env):
        errors.append("Every qdrant_extra_env entry needs a name (Kubernetes EnvVar, {name ..., value ...}).")
    names = [_attr(e, 'name')[1] for e in named]
    upper = [_text(n).upper() for n in names]
    for key, why, instead in OWNED_SERVICE_SETTINGS:
        if 'QDRANT__SERVICE__' + key.upper() in upper:
            errors.append("qdrant_extra_env must not set QDRANT__SERVICE__%s: %s. Use %s." % (key.upper(), why, instead))
    resources = v['qdrant_resources']
    if not _resources_ok(resources):
        errors.append("qdrant_resources=%s is not a Kubernetes ResourceRequirements: only requests, limits (and "
                      "claims), each value a quantity, for example {requests: {cpu: 500m, memory: 1Gi}, limits: "
                      "{memory: 4Gi}}." % _j(resources))
    managed = _unique([n for n in names if n in MANAGED_ENV])
    ports = _unique([k for k in service if k in ('http_port', 'grpc_port')])
    if managed or ports:
        errors.append("qdrant_extra_env sets %s / qdrant_config.service sets %s: the role sets these itself (the "
                      "Service, probes and NetworkPolicies follow them). Remove them and use qdrant_http_port, "
                      "qdrant_grpc_port, qdrant_log_level or qdrant_telemetry_disabled."
                      % (', '.join(_text(n) for n in managed) or 'nothing managed', ', '.join(ports) or 'no port'))
    replicas = v['qdrant_replicas']
    if not _replicas_ok(replicas):
        errors.append("qdrant_replicas=%s is not usable: give a whole number, 1 (single node) or 3 or more peers "
                      "(Qdrant's distributed mode; an odd number such as 3 or 5). 2 is refused: raft needs a majority "
                      "of the peers, and the majority of 2 is both, so two peers stop cluster-wide changes when either "
                      "one fails." % _j(replicas))
    if _int(replicas) > 1:
        headless, spread = v['qdrant_headless_service_name'], v['qdrant_topology_spread_constraints']
        if not (_str_match(DNS_LABEL, headless) and headless != v['qdrant_name']
                and _storage_size_ok(v['qdrant_storage_size'], False)
                and _storage_class_ok(v['qdrant_storage_class'])
                and (spread is None or (_is_sequence(spread) and all(isinstance(s, Mapping) for s in _items(spread))))):
            errors.append("qdrant_headless_service_name=%s must be a Service name (lower-case letters, digits, '-') "
                          "other than qdrant_name; qdrant_storage_size=%s a quantity above zero such as 50Gi; "
                          "qdrant_storage_class=%s a StorageClass name or \"\"; qdrant_topology_spread_constraints null "
                          "or a list of TopologySpreadConstraint objects."
                          % (_j(headless), _j(v['qdrant_storage_size']), _j(v['qdrant_storage_class'])))
    cluster = _mapping(config.get('cluster'))
    if 'enabled' in cluster or 'port' in _mapping(cluster.get('p2p')) or 'enforce_internal_auth' in service:
        errors.append("qdrant_config must not set cluster.enabled, cluster.p2p.port or service.enforce_internal_auth: "
                      "the role sets them from qdrant_replicas (more than 1: distributed mode on port 6335 with "
                      "internal auth enforced). Set qdrant_replicas.")
    return errors


def _resources_ok(resources):
    if not isinstance(resources, Mapping):
        return False
    if [k for k in resources if k not in ('requests', 'limits', 'claims')]:
        return False
    values = []
    for part in ('requests', 'limits'):
        if part in resources:
            if not isinstance(resources[part], Mapping):
                return False
            values.extend(resources[part].values())
    return all(_match(QUANTITY, q) for q in values)


def _parent_refs_ok(refs):
    if isinstance(refs, str) or _len(refs) == 0:
        return False
    refs = _items(refs)
    if not all(isinstance(r, Mapping) for r in refs):
        return False
    if not all('name' in r for r in refs):
        return False
    if not all(_match(PORT, r['port']) for r in refs if 'port' in r):
        return False
    if not all(_match(DNS_SUBDOMAIN, r['name']) for r in refs):
        return False
    if not all(_match(DNS_LABEL, r['namespace']) for r in refs if 'namespace' in r):
        return False
    return all(k in PARENT_REF_KEYS for r in refs for k in r)


def _gateway_routes(v):
    errors = []
    for key in ('qdrant_namespace', 'qdrant_name'):
        if not _str_match(DNS_LABEL, v[key]):
            errors.append("%s=%s is not a valid name: use lower-case letters, digits and '-', at most 63 characters."
                          % (key, _j(v[key])))
    hostnames = v['qdrant_hostnames']
    invalid = [h for h in _items(hostnames) if not _match(HOSTNAME, h)]
    if isinstance(hostnames, str) or _len(hostnames) == 0 or invalid:
        errors.append("qdrant_hostnames=%s must list at least one DNS name without spaces, ports or upper case, such "
                      "as qdrant.example.com or *.example.com. Invalid: %s." % (_j(hostnames), _j(invalid)))
    refs = v['qdrant_gateway_parent_refs']
    if not _parent_refs_ok(refs):
        errors.append("qdrant_gateway_parent_refs=%s is not a list of Gateway references: each entry needs a name (the "
                      "Gateway's) and may have namespace, sectionName, port (1-65535), group and kind only, for example "
                      "[{name: external, namespace: gateway}]." % _j(refs))
    if _bool(v['qdrant_grpc_route_enabled']):
        grpc = v['qdrant_grpc_hostnames']
        if (_len(grpc) == 0 or [h for h in _items(grpc) if not _match(HOSTNAME, h)]
                or [h for h in _items(grpc) if h in _items(hostnames)]):
            errors.append("qdrant_grpc_hostnames=%s must list at least one valid DNS name, none of them also in "
                          "qdrant_hostnames (a hostname cannot carry both an HTTPRoute and a GRPCRoute), e.g. "
                          "[qdrant-grpc.example.com]." % _j(grpc))
    if not (_port_ok(v['qdrant_http_port']) and _port_ok(v['qdrant_grpc_port'])):
        errors.append("qdrant_http_port and qdrant_grpc_port must be ports between 1 and 65535 (defaults 6333 and 6334).")
    replace = v['qdrant_routes_replace']
    if (not all(isinstance(r, str) for r in _items(replace))
            or not all(_match(DNS_SUBDOMAIN, r) for r in _items(replace))
            or v['qdrant_name'] in _items(replace)):
        errors.append("qdrant_routes_replace=%s must list names of HTTPRoutes in %s from an earlier installation (for "
                      "example [qdrant-http]), never this role's own route %s."
                      % (_j(replace), _text(v['qdrant_namespace']), _text(v['qdrant_name'])))
    return errors


def _verify(v):
    errors = []
    url = v['qdrant_check_url']
    if not ((v['qdrant_check_via'] != 'gateway' or _len(url) > 0 or _len(v['qdrant_hostnames']) > 0)
            and (_len(url) == 0 or _match(HTTP_URL, url))):
        errors.append("qdrant_check_url must be an http(s) URL such as https://qdrant.example.com, or qdrant_hostnames "
                      "must name a host when qdrant_check_via is gateway (got qdrant_check_url=%s)." % _j(url))
    timeout, wait = v['qdrant_check_timeout'], v['qdrant_check_wait_timeout']
    if not (_whole(timeout) and 1 <= _int(timeout) <= 3600 and _whole(wait) and _int(wait) <= 86400):
        errors.append("qdrant_check_timeout=%s must be whole seconds between 1 and 3600 (default 10) and "
                      "qdrant_check_wait_timeout=%s between 0 and 86400 (default 300)." % (_j(timeout), _j(wait)))
    ca_path = v['qdrant_check_ca_path']
    if not (_len(ca_path) == 0 or os.path.isfile(_text(ca_path))):
        errors.append("qdrant_check_ca_path=%s is not a file on the controller: give the path of a PEM CA bundle, or "
                      "\"\" to use the system store." % _j(ca_path))
    return errors


ROLES = {'secrets': _secrets, 'storage': _storage, 'qdrant': _qdrant, 'gateway_routes': _gateway_routes,
         'verify': _verify}


def qdrant_validation_errors(variables, role):
    """The messages of every check of ``role`` that ``variables`` (the role's variables, templated) fail; [] if none."""
    if role not in ROLES:
        raise AnsibleFilterError("qdrant_validation_errors: unknown role %r (one of %s)" % (role, ', '.join(sorted(ROLES))))
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError("qdrant_validation_errors: the input must be a dict of the role's variables")
    try:
        return ROLES[role](variables)
    except KeyError as e:
        raise AnsibleFilterError("qdrant_validation_errors(%r): the input lacks the variable %s" % (role, e))


class FilterModule(object):
    def filters(self):
        return {'qdrant_validation_errors': qdrant_validation_errors}

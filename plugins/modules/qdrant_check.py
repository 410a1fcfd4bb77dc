#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: qdrant_check

short_description: Prove that a Qdrant instance is healthy and that its authentication keeps people out

version_added: 0.1.0

author:
  - peekoff platform team (@peekoff)

description:
  - Probes a Qdrant instance over its REST API and reports a list of named checks, each with what was expected
    and what was observed (never a key or token).
  - "Startup checks, polled together until O(wait_timeout) seconds have passed: C(liveness) (C(GET /livez), or
    C(/healthz) when C(/livez) is missing) answers 200; C(readiness) (C(GET /readyz)) answers 200; C(version)
    (C(GET /)) is Qdrant's JSON and, when O(expect_version) is set, that version. A single-node Qdrant loads
    every collection before it opens its port, so while it starts a refused connection, a timeout and HTTP
    502, 503 or 504 (from Qdrant in cluster mode, a Gateway or the Kubernetes API server's service proxy) mean
    I(not up yet), not failure. The instance is reported unreachable only at the deadline, naming the last
    answer; the remaining checks are then reported as not run (and failed)."
  - "A refusal counts only when it is Qdrant's own: the exact 401 texts C(Must provide an API key or an
    Authorization bearer token) and C(Invalid API key or JWT) with no Content-Type, the plain 403 texts
    C(ExpiredSignature) and C(InvalidSignature), or the 403 JSON whose C(status.error) starts with
    C(Forbidden:) (the exact message where Qdrant's is fixed). Any other 401 or 403 fails the check with
    I(something in front of Qdrant answered instead of Qdrant) and shows what answered (status, content type,
    start of the body, C(Server)/C(Via) headers): a Gateway that checks keys itself says nothing about the
    Qdrant behind it, which may be open."
  - "Key checks: C(no_credential_refused), C(wrong_key_refused) (a random key in C(api-key)),
    C(wrong_key_bearer_refused) (the same as C(Authorization: Bearer)); C(full_key_reads) (O(api_key) lists
    collections), C(full_key_writes) and C(full_key_bearer_writes) (O(api_key) in C(api-key), then as Bearer,
    may write: C(DELETE) of a random collection that does not exist answers 200 with result V(false); nothing
    changes)."
  - "With O(read_only_api_key): C(read_only_key_reads), C(read_only_key_refused_writes) (Qdrant's 403
    C(Forbidden: Global manage access is required)) and the same two as Bearer, C(read_only_key_bearer_reads)
    and C(read_only_key_bearer_refused_writes)."
  - "With O(jwt_rbac), tokens minted from O(api_key) for a few minutes (claim C(subject) V(peekoff.qdrant.qdrant_check),
    the name in Qdrant's audit log): C(jwt_read_token_reads), C(jwt_read_token_refused_writes),
    C(jwt_collection_token_scoped) (an C(rw) token for one collection is accepted there and refused on another
    with C(Forbidden: Access to collection <name> is required)), C(jwt_collection_token_refused_manage) (the
    C(rw) token may not delete its own collection: C(Forbidden: Global access is required)),
    C(jwt_points_token_scoped) (the same for a C(prw) points token), C(jwt_expired_token_refused),
    C(jwt_wrong_signature_refused) and C(jwt_manage_token_writes)."
  - "Through O(kubernetes_proxy) the API server consumes the C(Authorization) header, so every credential
    travels in C(api-key) and the Bearer checks (C(wrong_key_bearer_refused), C(full_key_bearer_writes),
    C(read_only_key_bearer_reads), C(read_only_key_bearer_refused_writes)) are not run: they are not
    applicable there and do not appear in RV(checks)."
  - "With O(expect_peers) (cluster mode), one C(GET /cluster) with O(api_key), polled within the same
    O(wait_timeout) while peers join and catch up, answers three checks: C(cluster_peers) (cluster status
    C(enabled) and exactly O(expect_peers) entries in C(peers); a single-node Qdrant answers
    C({\"status\": \"disabled\"}) and fails it, saying so), C(cluster_leader) (C(raft_info.leader) is set and
    is one of the peers) and C(cluster_consensus) (C(consensus_thread_status) is C(working),
    C(raft_info.pending_operations) is 0 and C(message_send_failures) is empty; otherwise the observed text
    names the stopped thread, the peer with pending operations and the addresses of the peers it cannot
    reach). A single-node answer or a refusal ends the wait at once. The response shape is Qdrant v1.19.0's
    C(ClusterStatus) (lib/storage/src/types.rs)."
  - "With O(retired_api_keys) (after a key rotation), for each retired key: C(retired_key_refused) (Qdrant's own
    401 C(Invalid API key or JWT) for the key in C(api-key)), C(retired_key_bearer_refused) (the same as
    C(Authorization: Bearer); not through O(kubernetes_proxy)) and C(retired_key_jwt_refused): a read token minted
    from the retired key is refused, with O(jwt_rbac=true) by Qdrant's own 403 C(InvalidSignature) (every JWT
    signed with the old key is now invalid), without it by the 401 C(Invalid API key or JWT)."
  - "With O(expect_peers) greater than 1, C(cluster_peers_ready) asks every peer's own C(/readyz) (no key
    needed), polled within the same O(wait_timeout): C(GET /cluster) describes the cluster only as the answering
    peer sees it, while a peer's C(/readyz) answers 503 C(some shards are not ready) until that peer has caught
    up with consensus and its shards are active. Through O(kubernetes_proxy) the peers are the pods the Service's
    selector matches (for the qdrant role's StatefulSet C(qdrant-0) .. C(qdrant-N-1)), each asked through the API
    server's pod proxy (C(/api/v1/namespaces/<namespace>/pods/<scheme>:<pod>:<port>/proxy/readyz), the port being
    the container port the Service port targets); more or fewer pods than O(expect_peers) fail the check, naming
    the missing ordinals of a StatefulSet. With O(url), the peers are O(peer_urls); without O(peer_urls) the
    check is not run. The observed text names every missing and not-ready peer with its answer."
  - "Cluster limits: C(cluster_peers_ready) proves each peer serves and is ready; the key checks run against the
    address probed (the Service, or O(url)) only."
  - "Warnings (the module still passes): with O(jwt_rbac), when Qdrant accepts a token without C(exp) (Qdrant
    1.19 does; such a token never expires), and when O(api_key), the JWT signing secret, is shorter than 32
    bytes."
  - The module fails, naming every failed check, unless all of them pass. It cannot pass against an instance
    without authentication, one that accepts any key, a read-only key that can write, a Qdrant behind a
    Gateway that checks keys in its place, or a redirect or page in front of Qdrant. It never follows
    redirects.
  - "It refuses (before any request) an V(http://) O(url) to a host that is not a loopback address, because
    the keys would cross the network in clear text, unless O(allow_plain_http=true) (then it warns)."
  - The write probes are DELETE requests for collection names that do not exist (C(qdrant-check-<random>)); they
    change nothing, which is why the module also runs them in check mode.
  - What the module cannot see is listed in the README section I(What qdrant_check proves) (gRPC port, the
    cluster port, a metrics port, other listeners, Qdrant's configuration files).

extends_documentation_fragment:
  - peekoff.qdrant.qdrant

options:
  api_key:
    description:
      - Qdrant's full API key (C(service.api_key), env C(QDRANT__SERVICE__API_KEY)); also the secret JWTs are
        signed with when O(jwt_rbac=true).
      - "Sent in the C(api-key) header, and to O(url) also as C(Authorization: Bearer). Never returned or printed."
    type: str
    required: true
  jwt_rbac:
    description:
      - Qdrant runs with C(service.jwt_rbac=true). Mint short-lived HS256 tokens from O(api_key) and check that a
        read token reads and cannot write, that C(rw) and C(prw) tokens scoped to one collection cannot touch
        another nor delete their own, that expired and wrongly signed tokens are refused and that a manage
        token can write.
      - Tokens are sent as a bearer token in the C(Authorization) header to O(url), in the C(api-key) header
        through O(kubernetes_proxy). They are never returned or printed.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds within which liveness, readiness and the version are polled while Qdrant starts (a refused
        connection, a timeout and HTTP 502/503/504 mean not up yet). V(0) asks each once.
    type: float
    default: 60
  allow_plain_http:
    description:
      - Accept an V(http://) O(url) to a host that is not a loopback address (the keys and tokens then cross the
        network unencrypted). The module warns instead of failing. Loopback addresses (V(127.0.0.0/8), V(::1),
        V(localhost)) are always accepted.
    type: bool
    default: false
  expect_peers:
    description:
      - Qdrant runs in cluster mode (distributed deployment) with this many peers. Adds the checks
        C(cluster_peers), C(cluster_leader) and C(cluster_consensus) from C(GET /cluster) (see the description).
      - With more than 1, also C(cluster_peers_ready), each peer's own C(/readyz) (through O(kubernetes_proxy), or
        O(peer_urls)).
      - Must be 1 or more. Against a single-node Qdrant (cluster disabled) the cluster checks fail.
    type: int
  peer_urls:
    description:
      - With O(url) in cluster mode, the address of each peer's own REST API (one per peer, as many as
        O(expect_peers)), for example the per-pod hostnames of a headless Service. Adds the check
        C(cluster_peers_ready) (C(GET /readyz) of each, no key sent) when O(expect_peers) is more than 1.
      - O(validate_certs), O(ca_path), O(client_cert) and O(client_key) apply to them as to O(url).
      - Requires O(expect_peers). Not with O(kubernetes_proxy), which finds the peers itself (the pods of the
        Service).
    type: list
    elements: str
    version_added: 0.1.0
  retired_api_keys:
    description:
      - Keys Qdrant must no longer accept, typically the previous O(api_key) after a rotation
        (C(playbooks/rotate_key.yml)). Adds the checks C(retired_key_refused), C(retired_key_bearer_refused) and
        C(retired_key_jwt_refused) (see the description). Each must differ from O(api_key) and
        O(read_only_api_key). Never returned or printed.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  expect_version:
    description:
      - Fail the C(version) check unless C(GET /) reports this version. A leading V(v) is ignored; V(1.19)
        matches V(1.19.0) and V(1.19.3).
    type: str

attributes:
  check_mode:
    support: full
    description:
      - The module only reads and probes; its write probes delete collections that do not exist and change
        nothing, so it runs them in check mode too.
  diff_mode:
    support: none
    description:
      - Nothing is changed, so there is nothing to show.
  platform:
    support: full
    platforms: posix
    description:
      - Runs wherever Python can reach the Qdrant URL or the Kubernetes API, usually the controller.

notes:
  - Run it on the controller (delegate to V(localhost)) or on any host that can reach O(url).
  - With O(url) it uses Ansible's own HTTP code and needs no Python package beyond ansible-core.
    O(kubernetes_proxy) needs the C(kubernetes) Python library, as kubernetes.core's modules do; its options and
    client code come from the kubernetes.core collection, a dependency of this one.
  - O(kubernetes_proxy) files (kubeconfig, certificates, exec plugins) are read on the host running the module;
    unlike kubernetes.core's action plugins, qdrant_check does not copy a controller's kubeconfig to a remote host.

requirements:
  - kubernetes >= 24.2.0 (only for O(kubernetes_proxy))

seealso:
  - name: Qdrant security guide
    description: API keys, read-only keys and JWT RBAC.
    link: https://qdrant.tech/documentation/guides/security/
  - name: peekoff.qdrant.qdrant_jwt filter
    description: Mint per-collection tokens for applications.
    link: https://github.com/peekoff/ansible-collection-qdrant/blob/main/plugins/filter/qdrant_jwt.yml
"""

EXAMPLES = r"""
- name: Prove the deployment is healthy and secured (public hostname, CA of the Gateway certificate)
  peekoff.qdrant.qdrant_check:
    url: https://qdrant.example.com
    api_key: "{{ qdrant_api_key }}"
    read_only_api_key: "{{ qdrant_read_only_api_key }}"
    jwt_rbac: true
    ca_path: /etc/pki/example-ca.pem
    expect_version: 1.19.0
    wait_timeout: 300
  delegate_to: localhost
  register: __qdrant_check

- name: Show the names of the checks that ran
  ansible.builtin.debug:
    msg: "{{ __qdrant_check.checks | map(attribute='name') | list }}"

- name: Same proof through the Kubernetes API service proxy (no port-forward, no reachable Gateway needed)
  peekoff.qdrant.qdrant_check:
    kubernetes_proxy:
      kubeconfig: ~/.kube/config
      context: prod
      namespace: qdrant
      service: qdrant
      port: "6333"
    api_key: "{{ qdrant_api_key }}"
    read_only_api_key: "{{ qdrant_read_only_api_key }}"
  delegate_to: localhost

# The connection options of kubernetes.core's modules (here from module_defaults for their group; an EKS, GKE,
# AKS or OIDC kubeconfig with an exec plugin works too) reach kubernetes_proxy, never the Qdrant options.
- name: Prove it with the same Kubernetes connection as the kubernetes.core tasks of the play
  module_defaults:
    group/kubernetes.core.k8s:
      kubeconfig: "{{ playbook_dir }}/kubeconfig"
      context: prod
  block:
    - name: Read the Service
      kubernetes.core.k8s_info:
        kind: Service
        namespace: qdrant
        name: qdrant
    - name: Check Qdrant through the service proxy of that cluster
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy:
          namespace: qdrant
          service: qdrant
        api_key: "{{ qdrant_api_key }}"

- name: Prove a three-peer cluster (all peers joined, a raft leader, consensus in sync)
  peekoff.qdrant.qdrant_check:
    url: https://qdrant.example.com
    api_key: "{{ qdrant_api_key }}"
    expect_peers: 3
    wait_timeout: 300
  delegate_to: localhost

- name: Prove a three-peer StatefulSet through the API server (the pods of the Service, each peer's /readyz)
  peekoff.qdrant.qdrant_check:
    kubernetes_proxy:
      namespace: qdrant
      service: qdrant
    api_key: "{{ qdrant_api_key }}"
    expect_peers: 3
    wait_timeout: 300
  delegate_to: localhost

- name: The same over URLs, with each peer's own address for its /readyz
  peekoff.qdrant.qdrant_check:
    url: https://qdrant.example.com
    peer_urls:
      - https://qdrant-0.qdrant.example.com
      - https://qdrant-1.qdrant.example.com
      - https://qdrant-2.qdrant.example.com
    api_key: "{{ qdrant_api_key }}"
    expect_peers: 3
  delegate_to: localhost

- name: Record the result without failing the play, e.g. for a report
  peekoff.qdrant.qdrant_check:
    url: http://127.0.0.1:6333
    api_key: "{{ qdrant_api_key }}"
    wait_timeout: 0
  register: __qdrant_probe
  ignore_errors: true
"""

RETURN = r"""
version:
  description: Version reported by C(GET /), or V(null) when it could not be read.
  returned: always
  type: str
  sample: 1.19.0
ready:
  description: Whether C(/readyz) answered 200 within O(wait_timeout).
  returned: always
  type: bool
  sample: true
url:
  description: The address probed, without user information or query string.
  returned: always
  type: str
  sample: https://qdrant.example.com
checks:
  description: Every check, in the order run. A check that could not run is failed with an observed C(not run).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the check.
      type: str
      sample: wrong_key_refused
    passed:
      description: Whether the check passed.
      type: bool
      sample: true
    expected:
      description: What a healthy, secured Qdrant answers.
      type: str
      sample: "Qdrant's own HTTP 401 'Invalid API key or JWT' for GET /collections with a wrong key in api-key"
    observed:
      description:
        - What the instance answered (status, content type and the start of the body; never a secret).
        - For a refusal that is not Qdrant's own it starts with C(something in front of Qdrant answered
          instead of Qdrant).
      type: str
      sample: "HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)"
  sample:
    - name: liveness
      passed: true
      expected: HTTP 200 from /livez within 60 s
      observed: "HTTP 200 (text/plain) 'healthz check passed'"
failed_checks:
  description: Names of the checks that failed (empty when the module succeeds).
  returned: always
  type: list
  elements: str
  sample: [no_credential_refused, read_only_key_refused_writes]
"""

import re
import time
import uuid

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import (
    QdrantClient,
    QdrantError,
    natural_key,
    plain_http_host,
    redact_url,
    validate_base_url,
)
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_jwt import QdrantJWTError, mint_token
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_kube import proxy_timeout_hint
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_module import qdrant_connect, qdrant_module

READY_POLL_INTERVAL = 1.0  # seconds between polls of /livez, /readyz and / while Qdrant starts
TOKEN_TTL = 300  # seconds the minted test tokens live
MIN_JWT_SECRET_BYTES = 32  # HS256 secret length below which a warning is given (RFC 7518 3.2: >= 256 bits)
NOT_UP_STATUSES = (502, 503, 504)  # what Qdrant (cluster /readyz) and proxies in front answer while it starts

# Qdrant v1.19.0's own refusals. src/common/auth/mod.rs AuthKeys::validate_request and
# src/common/auth/jwt_parser.rs JwtParser::decode, sent by src/actix/auth.rs AuthMiddleware::call as
# HttpResponse::Unauthorized()/Forbidden().body(String): exact text, no Content-Type.
QDRANT_NO_CREDENTIAL = "Must provide an API key or an Authorization bearer token"
QDRANT_WRONG_CREDENTIAL = "Invalid API key or JWT"
QDRANT_EXPIRED = "ExpiredSignature"
QDRANT_BAD_SIGNATURE = "InvalidSignature"
QDRANT_STATEFUL_FAILED = "Invalid JWT, stateful validation failed"
QDRANT_BARE_REFUSALS = {
    401: (QDRANT_NO_CREDENTIAL, QDRANT_WRONG_CREDENTIAL, QDRANT_STATEFUL_FAILED),
    403: (QDRANT_EXPIRED, QDRANT_BAD_SIGNATURE, QDRANT_STATEFUL_FAILED),
}
# lib/storage/src/rbac/mod.rs: StorageError::Forbidden, answered as 403 JSON {"status": {"error": ...}}
QDRANT_GLOBAL_MANAGE = "Forbidden: Global manage access is required"  # global read (key or token) writing
QDRANT_GLOBAL_ACCESS = "Forbidden: Global access is required"  # collection token on a global operation


def _random_collection():
    return "qdrant-check-%s" % uuid.uuid4().hex


class Check:
    def __init__(self, name, expected):
        self.name = name
        self.expected = expected
        self.passed = False
        self.observed = "not run"

    def result(self, passed, observed):
        self.passed = bool(passed)
        self.observed = observed
        return self.passed

    def as_dict(self):
        return dict(name=self.name, passed=self.passed, expected=self.expected, observed=self.observed)


class Unreachable(Exception):
    pass


class QdrantChecker:
    """Runs the checks against a QdrantClient. Secrets stay in this object; reports carry none."""

    def __init__(self, client, api_key, read_only_api_key=None, jwt_rbac=False, wait_timeout=60.0,
                 expect_version=None, on_secret=None, poll_interval=None, expect_peers=None, retired_api_keys=(),
                 peers=None):
        self.client = client
        self.peers = peers  # ServicePeers or UrlPeers: whose /readyz cluster_peers_ready asks (expect_peers > 1)
        self.api_key = api_key
        self.read_only_api_key = read_only_api_key
        self.jwt_rbac = jwt_rbac
        self.wait_timeout = max(0.0, float(wait_timeout))
        self.expect_version = expect_version
        self.expect_peers = expect_peers
        self.retired_api_keys = [k for k in retired_api_keys or () if k]
        self.cluster = None  # the last ClusterInfo read from GET /cluster (expect_peers)
        self.on_secret = on_secret or (lambda value: None)
        self.poll_interval = READY_POLL_INTERVAL if poll_interval is None else poll_interval
        self.checks = []
        self.warnings = []
        self.version = None
        self.ready = False
        self._deadline = None

    # -- helpers
    def _check(self, name, expected):
        check = Check(name, expected)
        self.checks.append(check)
        return check

    def _token(self, access, **kwargs):
        secret = kwargs.pop("secret", self.api_key)
        token = mint_token(secret, access, ttl=kwargs.pop("ttl", TOKEN_TTL), subject="peekoff.qdrant.qdrant_check",
                           **kwargs)
        self.on_secret(token)
        return token

    @property
    def bearer_probes(self):
        """Bearer probes need the Authorization header to reach Qdrant; the API server's service proxy consumes
        it (and our client then sends the credential in api-key), so through kubernetes_proxy they are not run."""
        return not self.client.via_kubernetes_proxy

    def _collections_listed(self, resp):
        """Observed text and whether resp is Qdrant's 200 answer to GET /collections."""
        if resp.status != 200:
            return False, self._answer(resp)
        try:
            doc = resp.json()
            names = doc["result"]["collections"]
            if not isinstance(names, list):
                raise TypeError
        except (QdrantError, KeyError, TypeError):
            return False, "%s: not Qdrant's collections list" % resp.describe()
        return True, "HTTP 200, %d collection(s) listed" % len(names)

    def _write_probe_ok(self, resp):
        """A DELETE of a missing collection by someone with manage rights: 200 and result false."""
        if resp.status != 200:
            return False, self._answer(resp)
        try:
            doc = resp.json()
        except QdrantError as e:
            return False, str(e)
        if not isinstance(doc, dict) or doc.get("result") is not False or doc.get("status") != "ok":
            return False, "%s: expected result false and status ok" % resp.describe()
        return True, "HTTP 200, result false (nothing existed, nothing changed)"

    def _bare_content_type(self, resp):
        """Qdrant's auth middleware sends its refusals without a Content-Type. The API server's service proxy
        (Go net/http) may add the sniffed text/plain to such a body."""
        ctype = resp.content_type.split(";")[0].strip().lower()
        return not ctype or (self.client.via_kubernetes_proxy and ctype == "text/plain")

    def _qdrant_refusal(self, resp):
        """Qdrant's own refusal text (bare 401/403 or the 403 JSON status.error), or None when resp is not one."""
        if resp.status in (401, 403) and resp.text in QDRANT_BARE_REFUSALS.get(resp.status, ()) \
                and self._bare_content_type(resp):
            return resp.text
        return _forbidden_json(resp)

    def _refused(self, check, resp, status, text=None, prefix=None):
        """Pass only for Qdrant's own refusal: ``status`` and exactly ``text`` (or a text starting ``prefix``)."""
        seen = self._qdrant_refusal(resp)
        matches = seen == text if text is not None else (seen or "").startswith(prefix or "")
        if seen is not None and resp.status == status and matches:
            return check.result(True, "HTTP %d %r (Qdrant's own refusal)" % (resp.status, seen))
        if seen is not None:
            return check.result(False, "Qdrant refused, but not as expected: HTTP %d %r" % (resp.status, seen))
        return check.result(False, self._answer(resp))

    def _answer(self, resp):
        """What answered, for a report: Qdrant's own refusal, or a refusal from something in front, or else."""
        seen = self._qdrant_refusal(resp)
        if seen is not None:
            return "HTTP %d %r (Qdrant's own refusal)" % (resp.status, seen)
        return _refusal_or_answer(resp)

    def _run(self, check, func):
        """Run one check; transport errors fail it (and are re-raised as Unreachable when fatal)."""
        try:
            func(check)
        except QdrantError as e:
            check.result(False, str(e))
        except QdrantJWTError as e:
            check.result(False, "cannot mint a token: %s" % e)

    def _remaining(self):
        return self._deadline - time.monotonic()

    def _poll(self, send):
        """Call ``send()`` until it gets an answer other than "not up yet" (a transport error or HTTP 502/503/504,
        what Qdrant and the proxies in front of it give while Qdrant still loads its collections), or until
        the wait_timeout deadline. Returns (response or None at the deadline, last observed, attempts)."""
        attempts = 0
        while True:
            attempts += 1
            try:
                resp = send()
                observed = resp.describe()
                if resp.status not in NOT_UP_STATUSES:
                    return resp, observed, attempts
                observed = _describe_not_up(resp)
            except QdrantError as e:
                observed = str(e)
            remaining = self._remaining()
            if remaining <= 0:
                return None, observed, attempts
            time.sleep(min(self.poll_interval, remaining))

    def _waited(self, what, attempts, observed):
        return "%s after waiting %s s (wait_timeout, %d attempt(s)); last answer: %s" % (
            what, _num(self.wait_timeout), attempts, observed)

    # -- checks: startup (polled within wait_timeout)
    def check_liveness(self, check):
        def send():
            resp = self.client.request("GET", "/livez")
            return self.client.request("GET", "/healthz") if resp.status == 404 else resp
        resp, observed, attempts = self._poll(send)
        if resp is None:
            check.result(False, self._waited("not up", attempts, observed))
            raise Unreachable(observed)
        check.result(resp.status == 200, observed)

    def check_readiness(self, check):
        resp, observed, attempts = self._poll(lambda: self.client.request("GET", "/readyz"))
        if resp is not None and resp.status == 200:
            self.ready = True
            return check.result(True, observed)
        if resp is None:
            return check.result(False, self._waited("not ready", attempts, observed))
        check.result(False, observed)

    def check_version(self, check):
        resp, observed, attempts = self._poll(lambda: self.client.request("GET", "/"))
        if resp is None:
            return check.result(False, self._waited("no version", attempts, observed))
        if resp.status != 200:
            return check.result(False, resp.describe())
        try:
            doc = resp.json()
        except QdrantError as e:
            return check.result(False, str(e))
        if not isinstance(doc, dict) or "qdrant" not in str(doc.get("title", "")).lower() \
                or not isinstance(doc.get("version"), str):
            return check.result(False, "%s: not Qdrant's version document" % resp.describe())
        self.version = doc["version"]
        if self.expect_version and not _version_matches(self.version, self.expect_version):
            return check.result(False, "version %s" % self.version)
        check.result(True, "version %s" % self.version)

    # -- checks: cluster (expect_peers), polled within the same wait_timeout while peers join and catch up
    def _cluster_problems(self, info):
        """Problems of a ClusterInfo (Qdrant v1.19.0 lib/storage/src/types.rs) as {check name: observed}."""
        problems = {}
        peers = info.get("peers") if isinstance(info.get("peers"), dict) else {}
        raft = info.get("raft_info") if isinstance(info.get("raft_info"), dict) else {}
        failures = info.get("message_send_failures") if isinstance(info.get("message_send_failures"), dict) else {}
        if len(peers) != self.expect_peers:
            problems["cluster_peers"] = "%d peer(s) in the cluster, %d expected: %s" % (
                len(peers), self.expect_peers,
                ("%d missing" % (self.expect_peers - len(peers)) if len(peers) < self.expect_peers
                 else "%d more than expected" % (len(peers) - self.expect_peers)))
        leader = raft.get("leader")
        if leader is None:
            problems["cluster_leader"] = "no raft leader (raft_info.leader is null, role %s, term %s)" % (
                raft.get("role"), raft.get("term"))
        elif str(leader) not in peers:
            problems["cluster_leader"] = "raft leader %s is not among the peers %s" % (leader, _peer_list(peers))
        thread = info.get("consensus_thread_status")
        thread = thread if isinstance(thread, dict) else {}
        lagging = []
        if thread.get("consensus_thread_status") != "working":
            lagging.append("consensus thread of peer %s is %s%s" % (
                info.get("peer_id"), thread.get("consensus_thread_status"),
                (": %s" % str(thread.get("err"))[:120]) if thread.get("err") else ""))
        pending = raft.get("pending_operations")
        if pending != 0:
            lagging.append("peer %s has %s consensus operation(s) pending (commit %s)" % (
                info.get("peer_id"), pending, raft.get("commit")))
        if failures:
            lagging.append("peer %s cannot reach %s" % (info.get("peer_id"), ", ".join(
                "%s (%s failed sends)" % (addr, (failures[addr] or {}).get("count")) for addr in sorted(failures))))
        if lagging:
            problems["cluster_consensus"] = "; ".join(lagging)
        return problems

    def check_cluster(self, checks):
        """GET /cluster with api_key until every cluster check passes or the wait_timeout deadline."""
        attempts = 0
        while True:
            attempts += 1
            observed, final = None, False
            try:
                resp = self.client.request("GET", "/cluster", credential=self.api_key)
                observed = self._cluster_answer(resp)
                # only "not up yet" answers are asked again; a refusal or a single-node answer is final
                final = observed is not None and resp.status not in NOT_UP_STATUSES
            except QdrantError as e:
                observed = str(e)
            if observed is None:
                problems = self._cluster_problems(self.cluster)
                if not problems or self._remaining() <= 0:
                    peers = self.cluster.get("peers") or {}
                    summary = {
                        "cluster_peers": "%d peer(s): %s" % (len(peers), _peer_list(peers)),
                        "cluster_leader": "raft leader peer %s (term %s)" % (
                            (self.cluster.get("raft_info") or {}).get("leader"),
                            (self.cluster.get("raft_info") or {}).get("term")),
                        "cluster_consensus": "consensus thread working, 0 operations pending, every peer reachable",
                    }
                    for check in checks:
                        if check.name in problems:
                            check.result(False, problems[check.name] + (
                                " (after %d attempt(s) within %s s)" % (attempts, _num(self.wait_timeout))))
                        else:
                            check.result(True, summary[check.name])
                    return
            elif final or self._remaining() <= 0:
                for check in checks:
                    check.result(False, observed)
                return
            time.sleep(min(self.poll_interval, max(0.0, self._remaining())))

    def check_peers_ready(self, check):
        """GET /readyz of every peer (each pod of the Service through the pod proxy, or each of peer_urls) until
        all expect_peers peers answer 200 or the wait_timeout deadline; names the missing and not-ready peers."""
        attempts = 0
        while True:
            attempts += 1
            final = False
            try:
                targets, problems = self.peers.targets(self.expect_peers)
            except QdrantError as e:
                targets, problems, final = [], [str(e)], getattr(e, "final", False)
            ready, not_ready = [], []
            for name, client, phase in targets:
                try:
                    resp = client.request("GET", "/readyz")
                    if resp.status == 200:
                        ready.append(name)
                        continue
                    observed = _describe_not_up(resp)  # the API server's Status message, or Qdrant's answer
                except QdrantError as e:
                    observed = str(e)
                not_ready.append("%s%s: %s" % (name, " (pod phase %s)" % phase if phase and phase != "Running"
                                               else "", observed))
            if not problems and not not_ready and len(ready) == self.expect_peers:
                return check.result(True, "%d of %d peers ready: %s"
                                    % (len(ready), self.expect_peers, ", ".join(ready)))
            if final or self._remaining() <= 0:
                parts = problems + (["not ready: %s" % "; ".join(not_ready)] if not_ready else [])
                return check.result(False, "%s%s (after %d attempt(s) within %s s)" % (
                    "; ".join(parts), "; ready: %s" % ", ".join(ready) if ready else "", attempts,
                    _num(self.wait_timeout)))
            time.sleep(min(self.poll_interval, max(0.0, self._remaining())))

    def _cluster_answer(self, resp):
        """None when resp is an enabled ClusterStatus (kept in self.cluster), else what to report."""
        if resp.status != 200:
            return "GET /cluster: %s" % self._answer(resp)
        try:
            doc = resp.json()
        except QdrantError as e:
            return "GET /cluster: %s" % e
        result = doc.get("result") if isinstance(doc, dict) else None
        status = result.get("status") if isinstance(result, dict) else None
        if status == "disabled":
            return ("GET /cluster: Qdrant runs single-node (cluster status disabled), but expect_peers=%d asks for "
                    "a cluster; enable cluster mode (QDRANT__CLUSTER__ENABLED=true) or drop expect_peers"
                    % self.expect_peers)
        if status != "enabled" or not isinstance(result.get("peers"), dict) \
                or not isinstance(result.get("raft_info"), dict):
            return "GET /cluster: %s: not Qdrant's cluster status" % resp.describe()
        self.cluster = result
        return None

    # -- checks: keys
    def check_no_credential(self, check):
        self._refused(check, self.client.request("GET", "/collections"), 401, text=QDRANT_NO_CREDENTIAL)

    def check_wrong_key(self, check, bearer=False):
        wrong = "qdrant-check-wrong-%s" % uuid.uuid4().hex
        self._refused(check, self.client.request("GET", "/collections", credential=wrong, bearer=bearer), 401,
                      text=QDRANT_WRONG_CREDENTIAL)

    def _reads(self, check, credential, bearer=False):
        ok, observed = self._collections_listed(
            self.client.request("GET", "/collections", credential=credential, bearer=bearer))
        check.result(ok, observed)

    def _writes(self, check, credential, bearer=False):
        ok, observed = self._write_probe_ok(
            self.client.request("DELETE", "/collections/" + _random_collection(), credential=credential,
                                bearer=bearer))
        check.result(ok, observed)

    def _refused_write(self, check, credential, bearer=False, text=None):
        resp = self.client.request("DELETE", "/collections/" + _random_collection(), credential=credential,
                                   bearer=bearer)
        self._refused(check, resp, 403, text=text, prefix="Forbidden: ")

    def _retired_refused(self, check, bearer=False, jwt=False):
        """Every retired key (or a read token minted from it) gets Qdrant's own refusal."""
        status, text = (403, QDRANT_BAD_SIGNATURE) if jwt and self.jwt_rbac else (401, QDRANT_WRONG_CREDENTIAL)
        observed = []
        for number, key in enumerate(self.retired_api_keys, 1):
            credential = self._token("r", secret=key) if jwt else key
            one = Check(check.name, check.expected)
            self._refused(one, self.client.request("GET", "/collections", credential=credential,
                                                   bearer=bearer or jwt), status, text=text)
            observed.append((one.passed, "retired key %d: %s" % (number, one.observed)))
        check.result(all(p for p, o in observed), "; ".join(o for p, o in observed))

    # -- checks: JWT
    def _accepted_on_collection(self, resp):
        """A collection token reaching a collection that does not exist: Qdrant checks access first, then
        answers 404 JSON "Not found: ..." (200 if it happens to exist)."""
        if resp.status == 200:
            return True
        err = _status_error(resp)
        return resp.status == 404 and err is not None and err.startswith("Not found: ")

    def _scoped(self, check, mode, manage=False):
        own, other = _random_collection(), _random_collection()
        token = self._token([{"collection": own, "access": mode}])
        own_resp = self.client.request("GET", "/collections/" + own, credential=token, bearer=True)
        other_resp = self.client.request("GET", "/collections/" + other, credential=token, bearer=True)
        other_ok = _forbidden_json(other_resp) == "Forbidden: Access to collection %s is required" % other
        observed = "own collection: %s; other collection: %s" % (
            own_resp.describe(), other_resp.describe() if other_ok else self._answer(other_resp))
        ok = self._accepted_on_collection(own_resp) and other_ok
        if manage:
            manage_resp = self.client.request("DELETE", "/collections/" + own, credential=token, bearer=True)
            manage_ok = _forbidden_json(manage_resp) == QDRANT_GLOBAL_ACCESS
            observed += "; delete own collection: %s" % (
                manage_resp.describe() if manage_ok else self._answer(manage_resp))
            ok = ok and manage_ok
        check.result(ok, observed)

    def check_collection_scoped(self, check):
        self._scoped(check, "rw")

    def check_collection_token_refused_manage(self, check):
        own = _random_collection()
        token = self._token([{"collection": own, "access": "rw"}])
        self._refused(check, self.client.request("DELETE", "/collections/" + own, credential=token, bearer=True),
                      403, text=QDRANT_GLOBAL_ACCESS)

    def check_points_token_scoped(self, check):
        self._scoped(check, "prw", manage=True)

    def probe_token_without_exp(self):
        """Qdrant accepts a JWT without exp (claims.rs: exp is optional), and such a token never expires."""
        try:
            token = self._token("r", expires=False)
            resp = self.client.request("GET", "/collections", credential=token, bearer=True)
        except (QdrantError, QdrantJWTError):
            return
        if self._collections_listed(resp)[0]:
            self.warnings.append(
                "Qdrant accepted a JWT without exp (Qdrant 1.19 does: exp is optional): any token minted without "
                "exp from this api_key never expires until the key changes. Mint tokens with exp "
                "(peekoff.qdrant.qdrant_jwt always sets it) and rotate the api_key if such tokens may exist.")

    # -- the run
    def plan(self):
        bearer = self.bearer_probes
        plan = [
            ("liveness", "HTTP 200 from /livez within %s s" % _num(self.wait_timeout), self.check_liveness),
            ("readiness", "HTTP 200 from /readyz within %s s" % _num(self.wait_timeout), self.check_readiness),
            ("version", "Qdrant's JSON from GET /" + (" with version %s" % self.expect_version
                                                      if self.expect_version else ""), self.check_version),
            ("no_credential_refused", "Qdrant's own HTTP 401 %r for GET /collections without a credential"
             % QDRANT_NO_CREDENTIAL, self.check_no_credential),
            ("wrong_key_refused", "Qdrant's own HTTP 401 %r for GET /collections with a wrong key in api-key"
             % QDRANT_WRONG_CREDENTIAL, self.check_wrong_key),
        ]
        if bearer:
            plan.append(("wrong_key_bearer_refused", "Qdrant's own HTTP 401 %r for a wrong key as Authorization: "
                         "Bearer" % QDRANT_WRONG_CREDENTIAL, lambda c: self.check_wrong_key(c, bearer=True)))
        plan += [
            ("full_key_reads", "HTTP 200 and the collections list for GET /collections with api_key",
             lambda c: self._reads(c, self.api_key)),
            ("full_key_writes", "HTTP 200, result false for DELETE of a missing collection with api_key",
             lambda c: self._writes(c, self.api_key)),
        ]
        if bearer:
            plan.append(("full_key_bearer_writes", "HTTP 200, result false for DELETE of a missing collection with "
                         "api_key as Authorization: Bearer", lambda c: self._writes(c, self.api_key, bearer=True)))
        if self.read_only_api_key:
            plan += [
                ("read_only_key_reads", "HTTP 200 and the collections list with read_only_api_key",
                 lambda c: self._reads(c, self.read_only_api_key)),
                ("read_only_key_refused_writes", "Qdrant's own HTTP 403 %r for DELETE of a collection with "
                 "read_only_api_key" % QDRANT_GLOBAL_MANAGE,
                 lambda c: self._refused_write(c, self.read_only_api_key, text=QDRANT_GLOBAL_MANAGE)),
            ]
            if bearer:
                plan += [
                    ("read_only_key_bearer_reads", "HTTP 200 and the collections list with read_only_api_key as "
                     "Authorization: Bearer", lambda c: self._reads(c, self.read_only_api_key, bearer=True)),
                    ("read_only_key_bearer_refused_writes", "Qdrant's own HTTP 403 %r for DELETE of a collection "
                     "with read_only_api_key as Authorization: Bearer" % QDRANT_GLOBAL_MANAGE,
                     lambda c: self._refused_write(c, self.read_only_api_key, bearer=True,
                                                   text=QDRANT_GLOBAL_MANAGE)),
                ]
        if self.jwt_rbac:
            plan += [
                ("jwt_read_token_reads", "HTTP 200 and the collections list with a read token (access r)",
                 lambda c: self._reads(c, self._token("r"), bearer=True)),
                ("jwt_read_token_refused_writes", "Qdrant's own HTTP 403 %r for DELETE of a collection with a read "
                 "token" % QDRANT_GLOBAL_MANAGE,
                 lambda c: self._refused_write(c, self._token("r"), bearer=True, text=QDRANT_GLOBAL_MANAGE)),
                ("jwt_collection_token_scoped",
                 "a token for one collection (access rw): accepted there (200, or Qdrant's 404 for a missing "
                 "collection), Qdrant's own HTTP 403 'Forbidden: Access to collection <name> is required' on another",
                 self.check_collection_scoped),
                ("jwt_collection_token_refused_manage", "Qdrant's own HTTP 403 %r for DELETE of its own collection "
                 "with a collection token (access rw)" % QDRANT_GLOBAL_ACCESS,
                 self.check_collection_token_refused_manage),
                ("jwt_points_token_scoped",
                 "a points token for one collection (access prw): accepted there, Qdrant's own HTTP 403 on another "
                 "collection and %r for DELETE of its own" % QDRANT_GLOBAL_ACCESS, self.check_points_token_scoped),
                ("jwt_expired_token_refused", "Qdrant's own HTTP 403 %r for a token that expired an hour ago"
                 % QDRANT_EXPIRED, lambda c: self._refused(c, self.client.request(
                     "GET", "/collections", credential=self._token("r", ttl=-3600), bearer=True), 403,
                     text=QDRANT_EXPIRED)),
                ("jwt_wrong_signature_refused", "Qdrant's own HTTP 403 %r for a token signed with another secret"
                 % QDRANT_BAD_SIGNATURE, lambda c: self._refused(c, self.client.request(
                     "GET", "/collections", bearer=True,
                     credential=self._token("m", secret="qdrant-check-%s" % uuid.uuid4().hex)), 403,
                     text=QDRANT_BAD_SIGNATURE)),
                ("jwt_manage_token_writes", "HTTP 200, result false for DELETE of a missing collection with a "
                 "manage token (access m)", lambda c: self._writes(c, self._token("m"), bearer=True)),
            ]
        if self.retired_api_keys:
            plan.append(("retired_key_refused", "Qdrant's own HTTP 401 %r for GET /collections with each retired key "
                         "in api-key" % QDRANT_WRONG_CREDENTIAL, self._retired_refused))
            if bearer:
                plan.append(("retired_key_bearer_refused", "Qdrant's own HTTP 401 %r for each retired key as "
                             "Authorization: Bearer" % QDRANT_WRONG_CREDENTIAL,
                             lambda c: self._retired_refused(c, bearer=True)))
            plan.append(("retired_key_jwt_refused", "Qdrant's own %s for a read token minted from each retired key"
                         % ("HTTP 403 %r (JWT RBAC: tokens of the old key are invalid)" % QDRANT_BAD_SIGNATURE
                            if self.jwt_rbac else "HTTP 401 %r (JWT RBAC off)" % QDRANT_WRONG_CREDENTIAL),
                         lambda c: self._retired_refused(c, jwt=True)))
        if self.expect_peers is not None:
            plan += [
                ("cluster_peers", "GET /cluster with api_key: cluster enabled with exactly %d peers"
                 % self.expect_peers, None),
                ("cluster_leader", "GET /cluster: a raft leader that is one of the peers", None),
                ("cluster_consensus", "GET /cluster: consensus thread working, no pending consensus operations, "
                 "no failed sends to any peer", None),
            ]
            if self.peers is not None and self.expect_peers > 1:
                plan.append(("cluster_peers_ready", self.peers.expected(self.expect_peers), self.check_peers_ready))
        return plan

    def run(self):
        plan = self.plan()
        self._deadline = time.monotonic() + self.wait_timeout
        checks = [self._check(step[0], step[1]) for step in plan]
        for index, (check, step) in enumerate(zip(checks, plan)):
            func = step[2]
            if func is None:  # the cluster checks, answered together by one GET /cluster
                if check.name == "cluster_peers":
                    self.check_cluster(checks[index:index + 3])
                continue
            try:
                self._run(check, func)
            except Unreachable as e:
                for rest in checks[index + 1:]:
                    rest.result(False, "not run: the instance is unreachable (%s)" % e)
                return self.checks
        if self.jwt_rbac and not self.failed:
            self.probe_token_without_exp()
        return self.checks

    @property
    def failed(self):
        return [c for c in self.checks if not c.passed]


class ServicePeers:
    """The peers of a cluster behind kubernetes_proxy: the pods the Service's selector matches (for a StatefulSet
    <name>-0 .. <name>-N-1), each reached through the API server's pod proxy."""

    def __init__(self, client):
        self.client = client

    def expected(self, count):
        return ("HTTP 200 from /readyz of each of the %d pods of Service %s/%s (found through its selector, asked "
                "through the Kubernetes API pod proxy)" % (count, self.client.namespace, self.client.service))

    def targets(self, count):
        selector, pods = self.client.service_pods()
        targets, problems = [], []
        for name, port, phase, _ip in pods:
            if port is None:
                problems.append("pod %s declares no container port named %s (the Service's targetPort)"
                                % (name, self.client.port))
            else:
                targets.append((name, self.client.for_pod(name, port), phase))
        names = [p[0] for p in pods]
        if len(pods) != count:
            ordinals = [re.match(r"^(.*)-(\d+)$", str(n)) for n in names]
            prefixes = set(m.group(1) for m in ordinals if m)
            missing = ["%s-%d" % (list(prefixes)[0], i) for i in range(count)
                       if "%s-%d" % (list(prefixes)[0], i) not in names] if len(prefixes) == 1 and all(ordinals) else []
            problems.insert(0, "%d of %d expected pods match the selector %s of Service %s/%s%s%s" % (
                len(pods), count, selector, self.client.namespace, self.client.service,
                "; missing: %s" % ", ".join(missing) if missing and len(pods) < count else "",
                "; found: %s" % ", ".join(names) if names else ""))
        return targets, problems


class UrlPeers:
    """The peers given by peer_urls, one address per peer."""

    def __init__(self, clients):
        self.clients = clients  # [(display url, QdrantClient)]

    def expected(self, count):
        return "HTTP 200 from /readyz of each of the %d peer_urls" % count

    def targets(self, count):
        return [(display, client, None) for display, client in self.clients], []


def _peer_list(peers):
    return ", ".join("%s (%s)" % (pid, (peers[pid] or {}).get("uri") if isinstance(peers[pid], dict) else "?")
                     for pid in sorted(peers, key=natural_key)) or "none"


def _describe_not_up(resp):
    """A 502/503/504 for a report; the Kubernetes API server's service proxy answers with a Status object."""
    try:
        doc = resp.json()
    except QdrantError:
        return resp.describe()
    if isinstance(doc, dict) and doc.get("kind") == "Status" and isinstance(doc.get("message"), str):
        hint = proxy_timeout_hint(doc["message"])
        return "HTTP %d from the Kubernetes API server: %s%s" % (
            resp.status, " ".join(doc["message"].split())[:200], (": " + hint) if hint else "")
    return resp.describe()


def _status_error(resp):
    """``status.error`` of Qdrant's JSON error envelope, or None."""
    if resp.content_type.split(";")[0].strip().lower() != "application/json":
        return None
    try:
        doc = resp.json()
    except QdrantError:
        return None
    status = doc.get("status") if isinstance(doc, dict) else None
    error = status.get("error") if isinstance(status, dict) else None
    return error if isinstance(error, str) else None


def _forbidden_json(resp):
    """The message of Qdrant's 403 JSON (StorageError::Forbidden, "Forbidden: ..."), or None."""
    error = _status_error(resp) if resp.status == 403 else None
    return error if error is not None and error.startswith("Forbidden: ") else None


def _refusal_or_answer(resp):
    """What answered, for a report: a 401/403/407 that is not Qdrant's own is named as such."""
    if resp.status in (401, 403, 407):
        extra = ["%s: %s" % (h, resp.headers[h][:60]) for h in ("server", "via", "www-authenticate")
                 if resp.headers.get(h)]
        return ("something in front of Qdrant answered instead of Qdrant (a Gateway or proxy that checks keys "
                "itself proves nothing about Qdrant behind it, which may be open): %s%s"
                % (resp.describe(), " [%s]" % "; ".join(extra) if extra else ""))
    return resp.describe()


def _num(value):
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%g" % value)


def _version_matches(actual, expected):
    a = actual.strip().lstrip("vV").split(".")
    e = expected.strip().lstrip("vV").split(".")
    return a[:len(e)] == e


def main():
    module = qdrant_module(
        dict(
            jwt_rbac=dict(type="bool", default=False),
            wait_timeout=dict(type="float", default=60.0),
            expect_version=dict(type="str"),
            allow_plain_http=dict(type="bool", default=False),
            expect_peers=dict(type="int"),
            peer_urls=dict(type="list", elements="str"),
            retired_api_keys=dict(type="list", elements="str", default=[], no_log=True),
        ),
        mutually_exclusive=[("peer_urls", "kubernetes_proxy")],
        required_by={"peer_urls": "expect_peers"},
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, version=None, ready=False, url=None, checks=[], failed_checks=[])

    if not params["api_key"]:
        module.fail_json(msg="api_key must not be empty: qdrant_check proves that the key opens Qdrant", **result)
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds", **result)
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds", **result)
    if params["expect_peers"] is not None and params["expect_peers"] < 1:
        module.fail_json(msg="expect_peers must be the number of Qdrant peers (1 or more), got %d"
                             % params["expect_peers"], **result)
    if params["peer_urls"] is not None and len(params["peer_urls"]) != params["expect_peers"]:
        module.fail_json(msg="peer_urls lists %d address(es) but expect_peers is %d: give one address per peer"
                             % (len(params["peer_urls"]), params["expect_peers"]), **result)
    if params["read_only_api_key"] and params["read_only_api_key"] == params["api_key"]:
        module.fail_json(msg="read_only_api_key is the same as api_key: the read-only key would have full rights; "
                             "give Qdrant a different read-only key", **result)

    for retired in params["retired_api_keys"]:
        module.no_log_values.add(retired)
        if retired and retired in (params["api_key"], params["read_only_api_key"]):
            module.fail_json(msg="a key in retired_api_keys is still api_key or read_only_api_key: a retired key must "
                                 "be one Qdrant no longer has (rotate it first)", **result)

    plain_host = plain_http_host(params["url"])
    if plain_host:
        text = ("url %s is plain http:// to %s, which is not a loopback address: the api_key, the read-only key "
                "and the tokens travel in clear text over the network. Use https:// (or kubernetes_proxy)"
                % (redact_url(params["url"]), plain_host))
        if not params["allow_plain_http"]:
            module.fail_json(msg=text + ", or set allow_plain_http=true to accept the risk", **result)
        module.warn(text + " (allowed by allow_plain_http=true).")
    key_bytes = len(params["api_key"].encode("utf-8"))
    if params["jwt_rbac"] and key_bytes < MIN_JWT_SECRET_BYTES:
        module.warn("jwt_rbac is on and api_key is %d bytes long: it is also the HS256 secret every JWT is signed "
                    "with, and a secret shorter than %d bytes can be brute-forced from any token offline. Use a "
                    "random api_key of at least %d bytes." % (key_bytes, MIN_JWT_SECRET_BYTES, MIN_JWT_SECRET_BYTES))

    client = qdrant_connect(module, result)
    result["url"] = client.display_url
    peers = None
    if params["kubernetes_proxy"]:
        peers = ServicePeers(client)
    elif params["peer_urls"]:
        try:
            clients = []
            for peer_url in params["peer_urls"]:
                peer = QdrantClient(validate_base_url(peer_url), timeout=params["timeout"],
                                    validate_certs=params["validate_certs"], ca_path=params["ca_path"])
                if params["client_cert"] and peer.base_url.startswith("https://"):
                    peer.load_client_certificate(params["client_cert"], params["client_key"])
                clients.append((peer.display_url, peer))
        except QdrantError as e:
            module.fail_json(msg="peer_urls: %s" % e, **result)
        peers = UrlPeers(clients)

    checker = QdrantChecker(
        client,
        api_key=params["api_key"],
        read_only_api_key=params["read_only_api_key"],
        jwt_rbac=params["jwt_rbac"],
        wait_timeout=params["wait_timeout"],
        expect_version=params["expect_version"],
        expect_peers=params["expect_peers"],
        retired_api_keys=params["retired_api_keys"],
        on_secret=module.no_log_values.add,
        peers=peers,
    )
    checker.run()
    for warning in checker.warnings:
        module.warn(warning)
    result.update(
        version=checker.version,
        ready=checker.ready,
        checks=[c.as_dict() for c in checker.checks],
        failed_checks=[c.name for c in checker.failed],
    )
    if checker.failed:
        details = "; ".join("%s (expected %s, observed %s)" % (c.name, c.expected, c.observed) for c in checker.failed)
        module.fail_json(
            msg="Qdrant at %s is NOT proven healthy and secure: %d of %d checks failed: %s. Details: %s"
                % (client.display_url, len(checker.failed), len(checker.checks),
                   ", ".join(result["failed_checks"]), details),
            **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

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
  - "Checks, in order: C(liveness) (C(GET /livez), or C(/healthz) when C(/livez) is missing) answers 200;
    C(readiness) (C(GET /readyz)) answers 200, polled until O(wait_timeout) seconds have passed;
    C(version) (C(GET /)) is Qdrant's JSON and, when O(expect_version) is set, that version."
  - "C(no_credential_refused): a request without a credential gets 401; C(wrong_key_refused): a random wrong
    key gets 401; C(full_key_reads): O(api_key) lists collections (C(GET /collections)); C(full_key_writes):
    O(api_key) may write (C(DELETE) of a random collection name that does not exist answers 200 with result
    V(false); nothing changes)."
  - "With O(read_only_api_key): C(read_only_key_reads) and C(read_only_key_refused_writes) (403)."
  - "With O(jwt_rbac), tokens minted from O(api_key) for a few minutes: C(jwt_read_token_reads),
    C(jwt_read_token_refused_writes) (403), C(jwt_collection_token_scoped) (a token for one collection is
    accepted there and refused with 403 on another), C(jwt_expired_token_refused) (403),
    C(jwt_wrong_signature_refused) (403) and C(jwt_manage_token_writes)."
  - The module fails, naming every failed check, unless all of them pass. It cannot pass against an instance
    without authentication, one that accepts any key, a read-only key that can write, or a redirect or page
    in front of Qdrant. It never follows redirects.
  - When the instance cannot be reached at all, the remaining checks are reported as not run (and failed).
  - The write probes are DELETE requests for collection names that do not exist (C(qdrant-check-<random>)); they
    change nothing, which is why the module also runs them in check mode.

extends_documentation_fragment:
  - peekoff.qdrant.qdrant

options:
  api_key:
    description:
      - Qdrant's full API key (C(service.api_key), env C(QDRANT__SERVICE__API_KEY)); also the secret JWTs are
        signed with when O(jwt_rbac=true).
      - Sent in the C(api-key) header. Never returned or printed.
    type: str
    required: true
  jwt_rbac:
    description:
      - Qdrant runs with C(service.jwt_rbac=true). Mint short-lived HS256 tokens from O(api_key) and check that a
        read token reads and cannot write, that a token scoped to one collection cannot touch another, that
        expired and wrongly signed tokens are refused and that a manage token can write.
      - Tokens are sent as a bearer token in the C(Authorization) header to O(url), in the C(api-key) header
        through O(kubernetes_proxy). They are never returned or printed.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to keep polling C(/readyz) until it answers 200 (shards loaded). V(0) asks once.
    type: float
    default: 60
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
      sample: HTTP 401
    observed:
      description: What the instance answered (status, content type and the start of the body; never a secret).
      type: str
      sample: "HTTP 401 (text/plain) 'Invalid API key or JWT'"
  sample:
    - name: liveness
      passed: true
      expected: HTTP 200 from /livez
      observed: "HTTP 200 (text/plain) 'healthz check passed'"
failed_checks:
  description: Names of the checks that failed (empty when the module succeeds).
  returned: always
  type: list
  elements: str
  sample: [no_credential_refused, read_only_key_refused_writes]
"""

import time
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import (
    QDRANT_MUTUALLY_EXCLUSIVE,
    QDRANT_REQUIRED_ONE_OF,
    QdrantError,
    qdrant_argument_spec,
)
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_jwt import QdrantJWTError, mint_token
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_kube import client_from_params

READY_POLL_INTERVAL = 1.0  # seconds between /readyz polls
TOKEN_TTL = 300  # seconds the minted test tokens live


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
                 expect_version=None, on_secret=None, poll_interval=None):
        self.client = client
        self.api_key = api_key
        self.read_only_api_key = read_only_api_key
        self.jwt_rbac = jwt_rbac
        self.wait_timeout = max(0.0, float(wait_timeout))
        self.expect_version = expect_version
        self.on_secret = on_secret or (lambda value: None)
        self.poll_interval = READY_POLL_INTERVAL if poll_interval is None else poll_interval
        self.checks = []
        self.version = None
        self.ready = False

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

    @staticmethod
    def _collections_listed(resp):
        """Observed text and whether resp is Qdrant's 200 answer to GET /collections."""
        if resp.status != 200:
            return False, resp.describe()
        try:
            doc = resp.json()
            names = doc["result"]["collections"]
            if not isinstance(names, list):
                raise TypeError
        except (QdrantError, KeyError, TypeError):
            return False, "%s: not Qdrant's collections list" % resp.describe()
        return True, "HTTP 200, %d collection(s) listed" % len(names)

    @staticmethod
    def _write_probe_ok(resp):
        """A DELETE of a missing collection by someone with manage rights: 200 and result false."""
        if resp.status != 200:
            return False, resp.describe()
        try:
            doc = resp.json()
        except QdrantError as e:
            return False, str(e)
        if not isinstance(doc, dict) or doc.get("result") is not False or doc.get("status") != "ok":
            return False, "%s: expected result false and status ok" % resp.describe()
        return True, "HTTP 200, result false (nothing existed, nothing changed)"

    def _expect_status(self, check, resp, status):
        return check.result(resp.status == status, resp.describe())

    def _run(self, check, func):
        """Run one check; transport errors fail it (and are re-raised as Unreachable when fatal)."""
        try:
            func(check)
        except QdrantError as e:
            check.result(False, str(e))
        except QdrantJWTError as e:
            check.result(False, "cannot mint a token: %s" % e)

    # -- checks
    def check_liveness(self, check):
        try:
            resp = self.client.request("GET", "/livez")
            if resp.status == 404:
                resp = self.client.request("GET", "/healthz")
        except QdrantError as e:
            check.result(False, str(e))
            raise Unreachable(str(e))
        self._expect_status(check, resp, 200)

    def check_readiness(self, check):
        deadline = time.monotonic() + self.wait_timeout
        attempts = 0
        observed = "no answer"
        while True:
            attempts += 1
            remaining = deadline - time.monotonic()
            try:
                resp = self.client.request("GET", "/readyz")
                observed = resp.describe()
                if resp.status == 200:
                    self.ready = True
                    check.result(True, observed)
                    return
            except QdrantError as e:
                observed = str(e)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(self.poll_interval, remaining))
        check.result(False, "not ready after waiting %s s (wait_timeout, %d attempt(s)); last answer: %s"
                     % (_num(self.wait_timeout), attempts, observed))

    def check_version(self, check):
        resp = self.client.request("GET", "/")
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

    def check_no_credential(self, check):
        self._expect_status(check, self.client.request("GET", "/collections"), 401)

    def check_wrong_key(self, check):
        wrong = "qdrant-check-wrong-%s" % uuid.uuid4().hex
        self._expect_status(check, self.client.request("GET", "/collections", credential=wrong), 401)

    def _reads(self, check, credential, bearer=False):
        ok, observed = self._collections_listed(
            self.client.request("GET", "/collections", credential=credential, bearer=bearer))
        check.result(ok, observed)

    def _writes(self, check, credential, bearer=False):
        ok, observed = self._write_probe_ok(
            self.client.request("DELETE", "/collections/" + _random_collection(), credential=credential,
                                bearer=bearer))
        check.result(ok, observed)

    def _refused_write(self, check, credential, bearer=False):
        resp = self.client.request("DELETE", "/collections/" + _random_collection(), credential=credential,
                                   bearer=bearer)
        self._expect_status(check, resp, 403)

    def check_collection_scoped(self, check):
        own, other = _random_collection(), _random_collection()
        token = self._token([{"collection": own, "access": "rw"}])
        own_resp = self.client.request("GET", "/collections/" + own, credential=token, bearer=True)
        other_resp = self.client.request("GET", "/collections/" + other, credential=token, bearer=True)
        own_ok = own_resp.status in (200, 404)
        observed = "own collection: %s; other collection: %s" % (own_resp.describe(), other_resp.describe())
        check.result(own_ok and other_resp.status == 403, observed)

    # -- the run
    def run(self):
        jwt = self.jwt_rbac
        plan = [
            ("liveness", "HTTP 200 from /livez", self.check_liveness),
            ("readiness", "HTTP 200 from /readyz within %s s" % _num(self.wait_timeout), self.check_readiness),
            ("version", "Qdrant's JSON from GET /" + (" with version %s" % self.expect_version
                                                      if self.expect_version else ""), self.check_version),
            ("no_credential_refused", "HTTP 401 for GET /collections without a credential",
             self.check_no_credential),
            ("wrong_key_refused", "HTTP 401 for GET /collections with a wrong key", self.check_wrong_key),
            ("full_key_reads", "HTTP 200 and the collections list for GET /collections with api_key",
             lambda c: self._reads(c, self.api_key)),
            ("full_key_writes", "HTTP 200, result false for DELETE of a missing collection with api_key",
             lambda c: self._writes(c, self.api_key)),
        ]
        if self.read_only_api_key:
            plan += [
                ("read_only_key_reads", "HTTP 200 and the collections list with read_only_api_key",
                 lambda c: self._reads(c, self.read_only_api_key)),
                ("read_only_key_refused_writes", "HTTP 403 for DELETE of a collection with read_only_api_key",
                 lambda c: self._refused_write(c, self.read_only_api_key)),
            ]
        if jwt:
            plan += [
                ("jwt_read_token_reads", "HTTP 200 and the collections list with a read token (access r)",
                 lambda c: self._reads(c, self._token("r"), bearer=True)),
                ("jwt_read_token_refused_writes", "HTTP 403 for DELETE of a collection with a read token",
                 lambda c: self._refused_write(c, self._token("r"), bearer=True)),
                ("jwt_collection_token_scoped",
                 "a token for one collection: accepted there (200 or 404), HTTP 403 on another collection",
                 self.check_collection_scoped),
                ("jwt_expired_token_refused", "HTTP 403 for a token that expired an hour ago",
                 lambda c: self._expect_status(c, self.client.request(
                     "GET", "/collections", credential=self._token("r", ttl=-3600), bearer=True), 403)),
                ("jwt_wrong_signature_refused", "HTTP 403 for a token signed with another secret",
                 lambda c: self._expect_status(c, self.client.request(
                     "GET", "/collections", bearer=True,
                     credential=self._token("m", secret="qdrant-check-%s" % uuid.uuid4().hex)), 403)),
                ("jwt_manage_token_writes", "HTTP 200, result false for DELETE of a missing collection with a "
                 "manage token (access m)", lambda c: self._writes(c, self._token("m"), bearer=True)),
            ]
        checks = [self._check(step[0], step[1]) for step in plan]
        for index, (check, step) in enumerate(zip(checks, plan)):
            func = step[2]
            try:
                self._run(check, func)
            except Unreachable as e:
                for rest in checks[index + 1:]:
                    rest.result(False, "not run: the instance is unreachable (%s)" % e)
                break
        return self.checks

    @property
    def failed(self):
        return [c for c in self.checks if not c.passed]


def _num(value):
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%g" % value)


def _version_matches(actual, expected):
    a = actual.strip().lstrip("vV").split(".")
    e = expected.strip().lstrip("vV").split(".")
    return a[:len(e)] == e


def main():
    argument_spec = qdrant_argument_spec()
    argument_spec["api_key"]["required"] = True
    argument_spec.update(
        jwt_rbac=dict(type="bool", default=False),
        wait_timeout=dict(type="float", default=60.0),
        expect_version=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=QDRANT_REQUIRED_ONE_OF,
        mutually_exclusive=QDRANT_MUTUALLY_EXCLUSIVE,
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
    if params["read_only_api_key"] and params["read_only_api_key"] == params["api_key"]:
        module.fail_json(msg="read_only_api_key is the same as api_key: the read-only key would have full rights; "
                             "give Qdrant a different read-only key", **result)

    try:
        client, secrets = client_from_params(params)
    except QdrantError as e:
        module.no_log_values.update(getattr(e, "secrets", ()))  # e.g. tokens of an inline kubeconfig
        module.fail_json(msg=str(e), **result)
    for secret in secrets:
        if secret:
            module.no_log_values.add(secret)
    result["url"] = client.display_url

    checker = QdrantChecker(
        client,
        api_key=params["api_key"],
        read_only_api_key=params["read_only_api_key"],
        jwt_rbac=params["jwt_rbac"],
        wait_timeout=params["wait_timeout"],
        expect_version=params["expect_version"],
        on_secret=module.no_log_values.add,
    )
    checker.run()
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

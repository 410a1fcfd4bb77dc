"""qdrant_check and the qdrant_jwt filter in a real ansible-playbook run at -vvv against the Qdrant stand-in.

Runs from the repository root so that ansible.cfg applies (collections from .collections). Asserts that the
output never shows the API key, the read-only key or any JWT, and that a failing instance fails the play with
the names of the failed checks.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from qdrant_standin import standin_factory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "pb-full-key-7d3f9a2c41e6"
RO_KEY = "pb-read-only-key-c05e88b1"
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}")

PLAYBOOK = """
- name: Prove a Qdrant instance healthy and secured
  hosts: localhost
  gather_facts: false
  vars_files:
    - secrets.yml
  tasks:
    - name: Mint a read-only token for one collection
      ansible.builtin.set_fact:
        __app_token: >-
          {{ qdrant_api_key | peekoff.qdrant.qdrant_jwt(access=[{'collection': 'products', 'access': 'r'}],
                                                        ttl=600, subject='search-api') }}
      no_log: true

    - name: The application token opens its collection
      ansible.builtin.uri:
        url: "{{ qdrant_url }}/collections/products"
        headers:
          api-key: "{{ __app_token }}"
        status_code: 200
      no_log: true

    - name: The application token is refused on another collection
      ansible.builtin.uri:
        url: "{{ qdrant_url }}/collections/orders"
        headers:
          api-key: "{{ __app_token }}"
        status_code: 403
      no_log: true

    - name: Check health and authentication
      peekoff.qdrant.qdrant_check:
        url: "{{ qdrant_url }}"
        api_key: "{{ qdrant_api_key }}"
        read_only_api_key: "{{ qdrant_read_only_api_key }}"
        jwt_rbac: true
        wait_timeout: 1
        timeout: 5
      register: __qdrant_check

    - name: Show the whole result
      ansible.builtin.debug:
        var: __qdrant_check

    - name: Every check passed
      ansible.builtin.assert:
        that:
          - __qdrant_check is not changed
          - __qdrant_check.failed_checks | length == 0
          - __qdrant_check.checks | length == 21
          - __qdrant_check.version == '1.19.0'
          - __qdrant_check.ready
"""

# The same play without the filter tasks (a server without auth answers 200 where they expect 403).
MODULE_ONLY = PLAYBOOK.split("  tasks:", maxsplit=1)[0] + "  tasks:\n" + \
    "    - name: Check health and authentication" + PLAYBOOK.split("    - name: Check health and authentication")[1]


def _ansible_playbook():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return exe if os.path.exists(exe) else shutil.which("ansible-playbook")


def run_playbook(tmp_path, url, playbook=PLAYBOOK, check_mode=False):
    (tmp_path / "site.yml").write_text(playbook)
    (tmp_path / "secrets.yml").write_text(json.dumps(dict(
        qdrant_url=url, qdrant_api_key=KEY, qdrant_read_only_api_key=RO_KEY)))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    cmd = [_ansible_playbook(), "-vvv", str(tmp_path / "site.yml")] + (["--check"] if check_mode else [])
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    return proc, proc.stdout + proc.stderr, time.monotonic() - t0


def assert_no_secret(output):
    assert KEY not in output, "the API key was printed"
    assert RO_KEY not in output, "the read-only API key was printed"
    tokens = JWT_RE.findall(output)
    assert not tokens, "a JWT was printed: %s..." % tokens[0][:12]


@pytest.fixture
def standin():
    with standin_factory() as make:
        yield make(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, collections=("products", "orders"))


@pytest.fixture(autouse=True)
def _needs_ansible_playbook():
    if not _ansible_playbook():
        pytest.fail("ansible-playbook not found next to %s or on PATH: run scripts/bootstrap.sh" % sys.executable)


def test_playbook_passes_and_prints_no_secret(tmp_path, standin):
    proc, out, _elapsed = run_playbook(tmp_path, standin.url)
    assert proc.returncode == 0, out[-4000:]
    assert "qdrant_check" in out and "full_key_writes" in out  # the result was really printed
    # the JWT checks ran, and their answers were printed as Qdrant's own refusals
    assert "HTTP 403 'ExpiredSignature' (Qdrant's own refusal)" in out
    assert_no_secret(out)
    # the filter's token worked (200 on products, 403 on orders) and the module ran its JWT checks
    assert ("GET", "/collections/products", 200) in standin.requests
    assert ("GET", "/collections/orders", 403) in standin.requests
    assert standin.collections == ["orders", "products"]


def test_playbook_in_check_mode_runs_the_probes(tmp_path, standin):
    proc, out, _elapsed = run_playbook(tmp_path, standin.url, check_mode=True)
    assert proc.returncode == 0, out[-4000:]
    assert_no_secret(out)
    assert any(m == "DELETE" for m, _path, _status in standin.requests)


def test_failing_instance_fails_the_play_naming_the_checks(tmp_path):
    # keys are configured but the server checks none of them (auth_disabled)
    with standin_factory() as make:
        s = make(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, auth_disabled=True)
        proc, out, _elapsed = run_playbook(tmp_path, s.url, playbook=MODULE_ONLY)
    assert proc.returncode != 0, out[-4000:]
    assert "NOT proven healthy and secure" in out
    for name in ("no_credential_refused", "wrong_key_refused", "read_only_key_refused_writes",
                 "jwt_read_token_refused_writes", "jwt_expired_token_refused"):
        assert name in out
    assert "Every check passed" not in out  # the play stopped at the failing module
    assert_no_secret(out)


def test_open_qdrant_behind_a_key_checking_gateway_fails_the_play(tmp_path):
    with standin_factory() as make:
        s = make(gateway_keys=(KEY, RO_KEY))
        proc, out, _elapsed = run_playbook(tmp_path, s.url, playbook=MODULE_ONLY)
    assert proc.returncode != 0, out[-4000:]
    assert "NOT proven healthy and secure" in out
    assert "something in front of Qdrant answered instead of Qdrant" in out
    for name in ("no_credential_refused", "wrong_key_refused", "read_only_key_refused_writes"):
        assert name in out
    assert "Every check passed" not in out
    assert_no_secret(out)


# ------------------------------------------------- a Qdrant that is still starting, direct and through the proxy

PROXY_PLAYBOOK = """
- name: Prove a starting Qdrant healthy and secured
  hosts: localhost
  gather_facts: false
  vars_files:
    - secrets.yml
  tasks:
    - name: Check health and authentication
      peekoff.qdrant.qdrant_check:
        url: "{{ qdrant_url if qdrant_kubeconfig is not defined else omit }}"
        kubernetes_proxy: "{{ omit if qdrant_kubeconfig is not defined else qdrant_proxy }}"
        api_key: "{{ qdrant_api_key }}"
        read_only_api_key: "{{ qdrant_read_only_api_key }}"
        jwt_rbac: true
        wait_timeout: "{{ qdrant_wait_timeout }}"
        timeout: 5
      vars:
        qdrant_proxy:
          kubeconfig: "{{ qdrant_kubeconfig | default(omit) }}"
          namespace: qdrant
          service: qdrant
          port: "6333"
      register: __qdrant_check

    - name: Every check passed
      ansible.builtin.assert:
        that:
          - __qdrant_check.failed_checks | length == 0
          - __qdrant_check.ready
"""


@pytest.fixture
def emulator(tmp_path):
    """The Kubernetes API emulator with Namespace and Service qdrant; its service proxy forwards to a backend."""
    from kube_emulator import KubeEmulator
    emu = KubeEmulator()
    emu.start()
    emu.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "qdrant"}})
    emu.create_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "qdrant", "namespace": "qdrant"},
                       "spec": {"selector": {"app": "qdrant"}, "ports": [{"name": "http", "port": 6333}]}})
    emu.kubeconfig_path = emu.write_kubeconfig(str(tmp_path / "kubeconfig"))
    yield emu
    emu.stop()


def run_starting(tmp_path, url, wait_timeout, kubeconfig=None):
    (tmp_path / "site.yml").write_text(PROXY_PLAYBOOK)
    extra = dict(qdrant_url=url, qdrant_api_key=KEY, qdrant_read_only_api_key=RO_KEY,
                 qdrant_wait_timeout=wait_timeout)
    if kubeconfig:
        extra["qdrant_kubeconfig"] = kubeconfig
    (tmp_path / "secrets.yml").write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    for name in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY"):
        env.pop(name, None)
    cmd = [_ansible_playbook(), "-v", str(tmp_path / "site.yml")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    return proc, proc.stdout + proc.stderr


def _ready_after_first_ask(seconds):
    """A readiness callable for the emulator: endpoints become ready ``seconds`` after it is first asked."""
    first = []

    def ready():
        if not first:
            first.append(time.monotonic())
        return time.monotonic() - first[0] >= seconds
    return ready


@pytest.mark.parametrize("path", ["url", "kubernetes_proxy"])
def test_qdrant_starting_within_wait_timeout_passes(tmp_path, emulator, path):
    # Qdrant loads its collections before it binds its port (startup_delay): connection refused directly,
    # 503 from the API server's service proxy (no ready endpoints while the readiness probe fails).
    with standin_factory() as make:
        if path == "url":
            s = make(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, startup_delay=4)
        else:
            # Through the proxy the start is counted from the module's first probe, not from the stand-in's
            # creation: on a busy machine ansible-playbook may need more than a few seconds before it asks, and
            # the test would then pass without ever seeing a 503. No ready endpoint means the API server's 503
            # (pkg/registry/core/service/proxy.go ResourceLocation -> "no endpoints available for service").
            s = make(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True)
        emulator.register_service_backend("qdrant", "qdrant", 6333, s.url,
                                          ready=(lambda: s.listening) if path == "url" else _ready_after_first_ask(3))
        proc, out = run_starting(tmp_path, s.url, 60, emulator.kubeconfig_path if path != "url" else None)
    assert proc.returncode == 0, out[-4000:]
    assert "Every check passed" in out
    if path == "kubernetes_proxy":
        assert emulator.count_requests("GET", r"/services/(http:)?qdrant:6333/proxy/livez$") >= 2
    assert_no_secret(out)


@pytest.mark.parametrize("path,last_answer", [
    ("url", "Connection refused"),
    ("kubernetes_proxy", 'no endpoints available for service'),
])
def test_qdrant_still_starting_at_wait_timeout_fails(tmp_path, emulator, path, last_answer):
    with standin_factory() as make:
        s = make(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, startup_delay=120)
        emulator.register_service_backend("qdrant", "qdrant", 6333, s.url, ready=lambda: s.listening)
        proc, out = run_starting(tmp_path, s.url, 2, emulator.kubeconfig_path if path != "url" else None)
    assert proc.returncode != 0, out[-4000:]
    assert "NOT proven healthy and secure" in out
    assert "not up after waiting 2 s (wait_timeout" in out
    assert last_answer in out, out[-3000:]
    assert "not run: the instance is unreachable" in out
    assert "Every check passed" not in out
    assert_no_secret(out)

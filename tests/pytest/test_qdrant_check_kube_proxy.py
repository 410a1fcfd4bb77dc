"""qdrant_check's kubernetes_proxy in real ansible-playbook runs at -vvv: the connection kubernetes.core's modules
make (module_defaults for group/kubernetes.core.k8s, K8S_AUTH_KUBECONFIG, a KUBECONFIG list, an exec credential
plugin) reaches the Qdrant stand-in behind the Kubernetes API emulator's service proxy, and no token is printed.
"""
import collections
import json
import os
import re
import subprocess
import sys

import pytest

from proxied_qdrant import proxied_standin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

KEY = "proxy-pb-full-key-3e9c51d7a0b2"
RO_KEY = "proxy-pb-read-only-key-f1a0c4"
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}")
# Every check of a run with the read-only key and JWT RBAC, less the four Bearer probes the API server's proxy
# cannot carry (it consumes Authorization).
ALL_CHECKS = 17

CHECK = """
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy:
          namespace: qdrant
          service: qdrant
        api_key: "{{ qdrant_api_key }}"
        read_only_api_key: "{{ qdrant_read_only_api_key }}"
        jwt_rbac: true
        wait_timeout: 1
        timeout: 5
"""

PLAYBOOK = """
- name: Connection options from module_defaults of kubernetes.core's group
  hosts: localhost
  gather_facts: false
  vars_files:
    - vars.yml
  module_defaults:
    group/kubernetes.core.k8s:
      kubeconfig: "{{ exec_kubeconfig }}"
  tasks:
    - name: A kubernetes.core module uses the group's defaults
      kubernetes.core.k8s_info:
        kind: Service
        namespace: qdrant
        name: qdrant
      register: __svc

    - name: qdrant_check uses them too (exec plugin kubeconfig; kubernetes_proxy from a template)
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy: "{{ {'service': 'qdrant'} | combine({'namespace': 'qdrant'}) }}"
        api_key: "{{ qdrant_api_key }}"
        read_only_api_key: "{{ qdrant_read_only_api_key }}"
        jwt_rbac: true
        wait_timeout: 1
        timeout: 5
      register: __via_group

    - name: The group's api_key and host go to the API server, never to Qdrant
      module_defaults:
        group/kubernetes.core.k8s:
          host: "{{ kube_url }}"
          api_key: "{{ k8s_token }}"
          ca_cert: "{{ kube_ca }}"
%(check)s      register: __token_from_group

    - name: Without its own api_key, qdrant_check does not take the group's (a Kubernetes token)
      module_defaults:
        group/kubernetes.core.k8s:
          host: "{{ kube_url }}"
          api_key: "{{ k8s_token }}"
          ca_cert: "{{ kube_ca }}"
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy:
          namespace: qdrant
          service: qdrant
      register: __no_qdrant_key
      ignore_errors: true

    - name: The task's own connection options win over the group's
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy:
          namespace: qdrant
          service: qdrant
          kubeconfig: "{{ broken_kubeconfig }}"
        api_key: "{{ qdrant_api_key }}"
        wait_timeout: 0
      register: __task_wins
      ignore_errors: true

    - name: An inline kubeconfig (a dictionary) that cannot be used fails without showing its token
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy:
          kubeconfig: "{{ inline_kubeconfig }}"
          context: no-such-context
          service: qdrant
        api_key: "{{ qdrant_api_key }}"
        wait_timeout: 0
      register: __inline
      ignore_errors: true

    - name: What happened
      ansible.builtin.assert:
        that:
          - __svc.resources | length == 1
          - __via_group.failed_checks == [] and __via_group.checks | length == %(all)d
          - __token_from_group.failed_checks == [] and __token_from_group.checks | length == %(all)d
          - __no_qdrant_key is failed
          - "'missing required arguments: api_key' in __no_qdrant_key.msg"
          - __task_wins is failed
          - "'HTTP 401' in __task_wins.msg"
          - __inline is failed
          - "'no-such-context' in __inline.msg"

- name: The environment kubernetes.core reads
  hosts: localhost
  gather_facts: false
  vars_files:
    - vars.yml
  tasks:
    - name: K8S_AUTH_KUBECONFIG
      environment:
        K8S_AUTH_KUBECONFIG: "{{ token_kubeconfig }}"
%(check)s      register: __k8s_auth_env

    - name: KUBECONFIG with two files (clusters and contexts in one, the exec user in the other)
      environment:
        KUBECONFIG: "{{ split_kubeconfig }}"
%(check)s      register: __kubeconfig_list

    - name: Both passed
      ansible.builtin.assert:
        that:
          - __k8s_auth_env.failed_checks == [] and __k8s_auth_env.checks | length == %(all)d
          - __kubeconfig_list.failed_checks == [] and __kubeconfig_list.checks | length == %(all)d
""" % dict(check=CHECK, all=ALL_CHECKS)


@pytest.fixture
def proxied(tmp_path):
    with proxied_standin(tmp_path, api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True,
                         collections=("products",)) as env:
        yield env


def _split_kubeconfig(env, tmp_path):
    import yaml

    with open(env.exec_kubeconfig(name="kubeconfig-exec-split")) as fh:
        doc = yaml.safe_load(fh)
    users = {"apiVersion": "v1", "kind": "Config", "users": doc.pop("users")}
    (tmp_path / "clusters.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "users.yaml").write_text(yaml.safe_dump(users))
    return "%s%s%s" % (tmp_path / "clusters.yaml", os.pathsep, tmp_path / "users.yaml")


def test_module_defaults_environment_and_exec_plugin_reach_qdrant(proxied, tmp_path):
    (tmp_path / "kube-ca.pem").write_bytes(proxied.emu.ca_pem)
    variables = dict(
        qdrant_api_key=KEY, qdrant_read_only_api_key=RO_KEY, k8s_token=proxied.token, kube_url=proxied.emu.url,
        kube_ca=str(tmp_path / "kube-ca.pem"),
        exec_kubeconfig=proxied.exec_kubeconfig(),
        token_kubeconfig=proxied.token_kubeconfig(),
        broken_kubeconfig=proxied.token_kubeconfig(name="kubeconfig-broken", token="not-the-token-9d2e"),
        split_kubeconfig=_split_kubeconfig(proxied, tmp_path),
        inline_kubeconfig=proxied.emu.kubeconfig(namespace="qdrant"))
    (tmp_path / "vars.yml").write_text(json.dumps(variables))
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("K8S_AUTH_", "ANSIBLE_")) and k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               TMPDIR=str(tmp_path), HOME=str(tmp_path))  # no ~/.kube/config to fall back on
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-vvv", str(tmp_path / "site.yml")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r"localhost\s*: ok=\d+ +changed=0 +unreachable=0 +failed=0 +skipped=0 +rescued=0 +ignored=3", out), \
        out[-3000:]
    assert "qdrant_check" in out and "jwt_manage_token_writes" in out  # results were really printed
    # the exec plugin ran for the module_defaults task and for the KUBECONFIG list task
    assert len(proxied.exec_runs()) >= 2
    # every qdrant_check request went through the API server's service proxy, none to a wrong place
    # every request Qdrant saw came through the API server's service proxy
    prefix = "/api/v1/namespaces/qdrant/services/http:qdrant:6333/proxy"
    proxied_paths = collections.Counter(path for _method, path in proxied.proxy_requests())
    seen = collections.Counter(prefix + path for _method, path, _status in proxied.standin.requests)
    assert seen and not seen - proxied_paths
    for secret in (proxied.token, KEY, RO_KEY, "not-the-token-9d2e"):
        assert secret not in out, "a secret was printed at -vvv"
    tokens = JWT_RE.findall(out)
    assert not tokens, "a JWT was printed: %s..." % tokens[0][:12]

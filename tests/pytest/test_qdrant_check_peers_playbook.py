"""qdrant_check in cluster mode through kubernetes_proxy in a real ansible-playbook run at -vvv: every peer pod
of the StatefulSet behind the Service answers /readyz through the API server's pod proxy (emulator: kube-apiserver
pkg/registry/core/pod/rest/subresources.go ProxyREST); a peer that is not ready fails the task naming it; no
Qdrant key and no Kubernetes token is printed."""
import json
import os
import re
import subprocess
import sys

from proxied_qdrant import proxied_cluster
from test_reliability_rbac import denied  # the shipped docs/rbac/qdrant-deployer.yaml, as the API server checks it

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
KEY = "peers-pb-full-key-0b7e4a19c3d2"

PLAYBOOK = """
- name: Per-peer readiness of a three-peer cluster
  hosts: localhost
  gather_facts: false
  vars_files:
    - vars.yml
  tasks:
    - name: Check the cluster through the API server (one peer catching up)
      peekoff.qdrant.qdrant_check:
        kubernetes_proxy:
          kubeconfig: "{{ kubeconfig }}"
          namespace: qdrant
          service: qdrant
        api_key: "{{ qdrant_api_key }}"
        expect_peers: 3
        wait_timeout: 1
        timeout: 5
      register: __peers
      ignore_errors: true

    - name: What happened
      ansible.builtin.assert:
        that:
          - __peers is failed
          - __peers.failed_checks == ['cluster_peers_ready']
          - "'not ready: qdrant-1' in __peers.msg"
          - "'some shards are not ready' in __peers.msg"
"""


def test_not_ready_peer_fails_by_name_and_nothing_secret_is_printed(tmp_path):
    with proxied_cluster(tmp_path, api_key=KEY, peer_config={1: dict(ready=False)}) as cluster:
        (tmp_path / "vars.yml").write_text(json.dumps(dict(qdrant_api_key=KEY,
                                                           kubeconfig=cluster.token_kubeconfig())))
        (tmp_path / "site.yml").write_text(PLAYBOOK)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("K8S_AUTH_", "ANSIBLE_")) and k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
        env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   TMPDIR=str(tmp_path), HOME=str(tmp_path))
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-vvv", str(tmp_path / "site.yml")], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
        out = proc.stdout + proc.stderr
        asked = sorted(set(p for _m, p in cluster.pod_proxy_requests()))
        token = cluster.token
        refused = denied(list(cluster.emu.requests))
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r"localhost\s*: ok=\d+ +changed=0 +unreachable=0 +failed=0 .*ignored=1", out), out[-3000:]
    assert "/api/v1/namespaces/qdrant/pods/http:qdrant-1:6333/proxy/readyz" in asked
    assert refused == []  # Service get, pods list and pods/proxy get are in the shipped Role
    assert "cluster_peers_ready" in out and "qdrant-0, qdrant-2" in out  # the result was really printed
    for secret in (KEY, token):
        assert secret not in out, "a secret was printed at -vvv"

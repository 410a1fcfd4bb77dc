"""The action plugin's choice of module_defaults for group/kubernetes.core.k8s (the playbook run is in
tests/pytest/test_qdrant_check_kube_proxy.py)."""
from ansible_collections.peekoff.qdrant.plugins.action.qdrant_check import (
    fill_kubernetes_proxy,
    group_connection_defaults,
)


def test_group_entries_merge_in_order_and_other_groups_are_ignored():
    defaults = [
        {"group/kubernetes.core.k8s": {"kubeconfig": "/a", "context": "one"}},
        {"group/kubernetes.core.helm": {"kubeconfig": "/helm"}, "peekoff.qdrant.qdrant_check": {"timeout": 3}},
        {"group/kubernetes.core.k8s": {"context": "two"}},
    ]
    assert group_connection_defaults(defaults) == {"kubeconfig": "/a", "context": "two"}
    assert group_connection_defaults(None) == {}


def test_only_connection_options_fill_kubernetes_proxy_where_unset():
    proxy = {"service": "qdrant", "namespace": "qdrant", "context": "mine", "verify_ssl": False, "host": None}
    group = {"kubeconfig": "/k", "context": "theirs", "validate_certs": True, "cert_file": "/c.pem",
             "host": "https://api:6443", "api_key": "k8s-token", "namespace": "apps", "wait": True, "url": "x"}
    filled = fill_kubernetes_proxy(proxy, group)
    assert filled == {"service": "qdrant", "namespace": "qdrant", "context": "mine", "verify_ssl": False,
                      "host": "https://api:6443", "kubeconfig": "/k", "client_cert": "/c.pem", "api_key": "k8s-token"}
    assert proxy["host"] is None  # the task's dict is not changed

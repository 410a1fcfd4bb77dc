"""module_utils/qdrant_module: the AnsibleModule with the shared connection options and their four constraints, and
the client with every Kubernetes credential hidden, used the same way by qdrant_check and qdrant_snapshot."""
import pytest

from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_check, qdrant_snapshot
from proxied_qdrant import isolate_kubernetes_client, proxied_standin

KEY = "unit-module-helper-key-19fe"
MODULES = [(qdrant_check.main, {}), (qdrant_snapshot.main, {"state": "backup", "path": "/nonexistent"})]


@pytest.mark.parametrize("main,extra", MODULES)
@pytest.mark.parametrize("args,text", [
    ({}, "one of the following is required: url, kubernetes_proxy"),
    ({"url": "http://127.0.0.1:1", "kubernetes_proxy": {"service": "qdrant"}},
     "parameters are mutually exclusive: url|kubernetes_proxy"),
    ({"kubernetes_proxy": {"service": "qdrant"}, "client_cert": "/c.pem", "client_key": "/k.pem"},
     "parameters are mutually exclusive: client_cert|kubernetes_proxy"),
    ({"url": "https://127.0.0.1:1", "client_cert": "/c.pem"}, "parameters are required together: client_cert, client_key"),
])
def test_both_modules_apply_the_shared_constraints(run_module, main, extra, args, text):
    failed, result = run_module(main, dict(dict(api_key=KEY, **extra), **args))
    assert failed and text in result["msg"]


@pytest.mark.parametrize("main,extra", MODULES)
def test_api_key_is_required_by_both(run_module, main, extra):
    failed, result = run_module(main, dict(url="http://127.0.0.1:1", **extra))
    assert failed and "missing required arguments: api_key" in result["msg"]


@pytest.mark.parametrize("main,extra", MODULES)
def test_an_unusable_inline_kubeconfig_fails_without_its_token_in_both(run_module, main, extra, tmp_path, monkeypatch):
    isolate_kubernetes_client(monkeypatch, tmp_path)
    with proxied_standin(tmp_path, api_key=KEY) as env:
        doc = env.emu.kubeconfig(namespace="qdrant")
        failed, result = run_module(main, dict(kubernetes_proxy=dict(kubeconfig=doc, context="no-such-context",
                                                                     service="qdrant"),
                                               api_key=KEY, **extra), secrets=[env.token])
    assert failed and "no-such-context" in result["msg"]

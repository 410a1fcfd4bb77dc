"""Shared fixtures for the unit tests; works under plain pytest from the checkout and under ansible-test units.

* the collection is imported as ``ansible_collections.peekoff.qdrant``: ansible-test provides that tree; from a
  checkout, ``.collections/ansible_collections/peekoff/qdrant`` (made by scripts/bootstrap.sh) links back here;
* the Qdrant stand-in lives in ``tests/support`` (found relative to this file in both layouts).
"""
import importlib
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUPPORT = os.path.join(ROOT, "tests", "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)
try:
    importlib.import_module("ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant")
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from qdrant_standin import standin_factory as _standin_factory  # noqa: E402

KEY = "unit-full-key-5f2b8c0e"
RO_KEY = "unit-read-only-key-a81d77"


class AnsibleExitJson(Exception):
    def __init__(self, result):
        super().__init__("exit_json")
        self.result = result


class AnsibleFailJson(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg"))
        self.result = result


@pytest.fixture
def module_fakes(monkeypatch):
    """exit_json/fail_json that RAISE, so no code runs on after them."""
    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise AnsibleExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs["failed"] = True
        kwargs["msg"] = msg
        raise AnsibleFailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def _outcome(main):
    """(failed, result) of running a module's main() under module_fakes."""
    try:
        main()
    except AnsibleExitJson as e:
        return False, e.result
    except AnsibleFailJson as e:
        return True, e.result
    raise AssertionError("module returned without exit_json/fail_json")  # pragma: no cover - modules always exit


@pytest.fixture
def run_module(module_fakes):
    """run_module(main, args) -> (failed, result). Also asserts that no secret appears in the raw result."""
    def _run(main, args, secrets=()):
        with patch_module_args(args):
            failed, result = _outcome(main)
        dumped = json.dumps(result)
        for secret in [args.get("api_key"), args.get("read_only_api_key")] + list(secrets):
            if secret:
                assert secret not in dumped, "a secret leaked into the module result"
        assert "eyJ" not in dumped, "a JWT leaked into the module result"
        return failed, result
    return _run


@pytest.fixture
def standin_factory():
    with _standin_factory() as make:
        yield make


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory):
    """A throwaway CA and a server certificate for 127.0.0.1/localhost: (ca_pem, certfile, keyfile)."""
    trustme = pytest.importorskip("trustme")
    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, ca_pem = d / "server.pem", d / "server.key", d / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_pem))
    return dict(ca=ca, ca_pem=str(ca_pem), certfile=str(certfile), keyfile=str(keyfile))

"""qdrant_check retired_api_keys (after a key rotation) against the real Qdrant stand-in: the old key and tokens
minted from it must get Qdrant's own refusals (401 'Invalid API key or JWT', 403 'InvalidSignature')."""
import pytest

from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_check

NEW = "unit-new-full-key-0c6b1f4d9e"
OLD = "unit-old-full-key-7a3e52b1c8"
RETIRED = ["retired_key_refused", "retired_key_bearer_refused", "retired_key_jwt_refused"]


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch):
    monkeypatch.setattr(qdrant_check, "READY_POLL_INTERVAL", 0.05)


def args_for(standin, **extra):
    args = dict(url=standin.url, api_key=NEW, retired_api_keys=[OLD], jwt_rbac=True, wait_timeout=0.5, timeout=2)
    args.update(extra)
    return args


def by_name(result):
    return dict((c["name"], c) for c in result["checks"])


def test_rotated_instance_refuses_the_old_key_and_its_tokens(run_module, standin_factory):
    s = standin_factory(api_key=NEW, jwt_rbac=True)
    failed, result = run_module(qdrant_check.main, args_for(s), secrets=[OLD])
    assert not failed, result.get("msg")
    checks = by_name(result)
    assert [c["name"] for c in result["checks"]][-3:] == RETIRED
    assert checks["retired_key_refused"]["observed"] == \
        "retired key 1: HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)"
    assert checks["retired_key_jwt_refused"]["observed"] == \
        "retired key 1: HTTP 403 'InvalidSignature' (Qdrant's own refusal)"


def test_jwt_rbac_off_tokens_of_the_old_key_are_wrong_keys(run_module, standin_factory):
    s = standin_factory(api_key=NEW, jwt_rbac=False)
    failed, result = run_module(qdrant_check.main, args_for(s, jwt_rbac=False), secrets=[OLD])
    assert not failed, result.get("msg")
    assert by_name(result)["retired_key_jwt_refused"]["observed"] == \
        "retired key 1: HTTP 401 'Invalid API key or JWT' (Qdrant's own refusal)"


def test_instance_still_on_the_old_key_fails_the_retired_checks(run_module, standin_factory):
    """Not rotated: Qdrant still has OLD (and NEW is unknown to it), so the old key reads."""
    s = standin_factory(api_key=OLD, jwt_rbac=True)
    failed, result = run_module(qdrant_check.main, args_for(s), secrets=[OLD])
    assert failed
    assert set(RETIRED) <= set(result["failed_checks"])
    assert "retired key 1: HTTP 200" in by_name(result)["retired_key_refused"]["observed"]
    assert OLD not in result["msg"]


def test_retired_key_equal_to_the_current_key_is_refused_before_probing(run_module, standin_factory):
    s = standin_factory(api_key=NEW)
    failed, result = run_module(qdrant_check.main, args_for(s, retired_api_keys=[NEW]))
    assert failed
    assert "a key in retired_api_keys is still api_key" in result["msg"]
    assert s.requests == []

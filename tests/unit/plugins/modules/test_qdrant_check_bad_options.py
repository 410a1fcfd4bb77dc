"""Bad module options: qdrant_check refuses each before sending a single request, naming the option.

``BAD_OPTIONS`` is counted for the README reliability section (scripts/gen_reliability_docs.py).
"""
import pytest

from ansible_collections.peekoff.qdrant.plugins.modules import qdrant_check

KEY = "unit-full-key-5f2b8c0e"
RO_KEY = "unit-read-only-key-a81d77"
PROXY = {"service": "qdrant", "namespace": "qdrant"}

# (id, options replacing/adding to a valid set (None removes one), the option the message must name)
BAD_OPTIONS = [
    ("api_key_empty", {"api_key": ""}, "api_key"),
    ("api_key_missing", {"api_key": None}, "api_key"),
    ("timeout_zero", {"timeout": 0}, "timeout"),
    ("timeout_negative", {"timeout": -1}, "timeout"),
    ("timeout_a_word", {"timeout": "lots"}, "timeout"),
    ("wait_timeout_negative", {"wait_timeout": -1}, "wait_timeout"),
    ("wait_timeout_a_word", {"wait_timeout": "soon"}, "wait_timeout"),
    ("url_and_proxy", {"kubernetes_proxy": PROXY}, "kubernetes_proxy"),
    ("neither_url_nor_proxy", {"url": None}, "url"),
    ("read_only_key_equals_full_key", {"read_only_api_key": KEY}, "read_only_api_key"),
    ("jwt_rbac_maybe", {"jwt_rbac": "maybe"}, "jwt_rbac"),
    ("validate_certs_perhaps", {"validate_certs": "perhaps"}, "validate_certs"),
    ("proxy_without_service", {"url": None, "kubernetes_proxy": {"namespace": "qdrant"}}, "service"),
    ("proxy_scheme_ftp", {"url": None, "kubernetes_proxy": dict(PROXY, scheme="ftp")}, "scheme"),
    ("unknown_option", {"apikey": KEY}, "apikey"),
    ("ca_path_missing", {"ca_path": "/nonexistent/ca.pem"}, "ca_path"),
]


@pytest.fixture
def secured(standin_factory):
    return standin_factory(api_key=KEY, read_only_api_key=RO_KEY)


@pytest.mark.parametrize("case_id, options, option", BAD_OPTIONS, ids=[c[0] for c in BAD_OPTIONS])
def test_bad_option_is_refused_before_any_request(run_module, secured, case_id, options, option):
    args = dict(url=secured.url, api_key=KEY, read_only_api_key=RO_KEY, timeout=2, wait_timeout=0.5)
    args.update(options)
    args = {k: v for k, v in args.items() if v is not None}
    failed, result = run_module(qdrant_check.main, args)
    assert failed, "%s was accepted: %s" % (case_id, result)
    assert option in result["msg"], "%s: the message does not name %s: %s" % (case_id, option, result["msg"])
    assert secured.requests == [], "%s: requests were sent before the refusal: %s" % (case_id, secured.requests)

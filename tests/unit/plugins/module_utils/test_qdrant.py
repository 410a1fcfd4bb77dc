"""The shared client in module_utils/qdrant: argument spec, URL handling, responses, no redirects."""
import pytest

from ansible_collections.peekoff.qdrant.plugins.module_utils import qdrant as Q


def test_argument_spec_marks_secrets_no_log():
    spec = Q.qdrant_argument_spec()
    assert spec["api_key"]["no_log"] is True and spec["read_only_api_key"]["no_log"] is True
    assert set(spec) == {"url", "api_key", "read_only_api_key", "validate_certs", "ca_path", "client_cert",
                         "client_key", "timeout", "kubernetes_proxy"}
    assert spec["validate_certs"]["default"] is True
    assert spec["kubernetes_proxy"]["options"]["service"]["required"] is True


def test_argument_spec_matches_doc_fragment():
    import yaml
    from ansible_collections.peekoff.qdrant.plugins.doc_fragments.qdrant import ModuleDocFragment
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = Q.qdrant_argument_spec()
    assert set(doc) == set(spec)
    for name, opt in spec.items():
        assert doc[name]["type"] == opt["type"], name
        assert doc[name].get("default") == opt.get("default"), name
    sub_doc, sub_spec = doc["kubernetes_proxy"]["suboptions"], spec["kubernetes_proxy"]["options"]
    assert set(sub_doc) == set(sub_spec)
    for name, opt in sub_spec.items():
        assert sub_doc[name].get("default") == opt.get("default"), name
        assert sub_doc[name].get("required", False) == opt.get("required", False), name


@pytest.mark.parametrize("url,shown", [
    ("https://user:pw@host:1/p?q=1#f", "https://host:1/p"),
    ("http://h", "http://h"),
])
def test_redact_url(url, shown):
    assert Q.redact_url(url) == shown


def test_validate_base_url():
    assert Q.validate_base_url("https://q.example.com/") == "https://q.example.com"
    for bad in ("", None, "q.example.com", "ftp://x", "http://a:b@x", "http://x?y=1", "http:///nohost"):
        with pytest.raises(Q.QdrantError):
            Q.validate_base_url(bad)


def test_response_describe_and_json():
    r = Q.Response(401, {"Content-Type": "text/plain"}, b"Invalid API key or JWT", "http://x")
    assert r.describe() == "HTTP 401 (text/plain) 'Invalid API key or JWT'"
    with pytest.raises(Q.QdrantError, match="expected a JSON answer"):
        r.json()
    r = Q.Response(302, {"Location": "https://u:p@login/x?token=abc"}, b"", "http://x")
    assert r.describe() == "HTTP 302 redirect to https://login/x"
    assert Q.Response(200, {}, b"x" * 200, "u").describe().endswith("...'")


def test_credential_headers():
    direct = Q.QdrantClient("http://127.0.0.1:1")
    assert direct.credential_headers("k") == {"api-key": "k"}
    assert direct.credential_headers("t", bearer=True) == {"Authorization": "Bearer t"}
    assert direct.credential_headers(None) == {}
    proxied = Q.QdrantClient("http://127.0.0.1:1", via_kubernetes_proxy=True)
    assert proxied.credential_headers("t", bearer=True) == {"api-key": "t"}


def test_request_against_stand_in_and_no_redirects(standin_factory):
    target = standin_factory(api_key="k")
    s = standin_factory(api_key="k", redirect_to=target.url)
    c = Q.QdrantClient(target.url, timeout=2)
    assert c.request("GET", "/collections", credential="k").json()["status"] == "ok"
    r = c.request("DELETE", "/collections/x", credential="k")
    assert r.status == 200 and r.json()["result"] is False
    r = Q.QdrantClient(s.url, timeout=2).request("GET", "/collections", credential="k")
    assert r.status == 302 and r.is_redirect and r.location == target.url + "/collections"
    assert target.requests == [("GET", "/collections", 200), ("DELETE", "/collections/x", 200)]


def test_errors_name_the_url_not_the_credential(standin_factory):
    s = standin_factory(delay=0.5)
    with pytest.raises(Q.QdrantError) as e:
        Q.QdrantClient(s.url, timeout=0.1).request("GET", "/x", credential="very-secret")
    assert "timeout" in str(e.value) and s.url in str(e.value) and "very-secret" not in str(e.value)


def test_natural_key_orders_ordinals_as_numbers():
    from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import natural_key
    names = ["qdrant-10", "qdrant-2", "qdrant-1", "qdrant-0", "other-3"]
    assert sorted(names, key=natural_key) == ["other-3", "qdrant-0", "qdrant-1", "qdrant-2", "qdrant-10"]
    assert sorted([10, 9, "100"], key=natural_key) == [9, 10, "100"]

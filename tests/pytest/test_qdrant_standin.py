"""The Qdrant stand-in answers as ../shared/qdrant-facts.md says a real Qdrant v1.19.0 does."""
import json
import ssl
import time
import urllib.error
import urllib.request

import pytest

from qdrant_standin import StandinConfig, mint_jwt, standin_factory

KEY = "full-key-0123456789"
RO_KEY = "read-only-key-9876543210"
NO_CRED = "Must provide an API key or an Authorization bearer token"
WRONG = "Invalid API key or JWT"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def call(standin, method, path, headers=None, body=None, context=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(standin.url + path, method=method, headers=hdrs, data=data)
    opener = _OPENER if context is None else urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        resp = opener.open(req, timeout=timeout)
        return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def key(k):
    return {"api-key": k}


def bearer(k):
    return {"Authorization": "Bearer " + k}


def jwt(claims, secret=KEY, ttl=60):
    claims = dict(claims)
    claims.setdefault("exp", int(time.time()) + ttl)
    return mint_jwt(secret, claims)


@pytest.fixture
def make():
    with standin_factory() as factory:
        yield factory


@pytest.fixture
def secured(make):
    return make(api_key=KEY, read_only_api_key=RO_KEY, jwt_rbac=True, collections=("products", "orders"))


# ------------------------------------------------------------------------------------- open paths

@pytest.mark.parametrize("path", ["/healthz", "/livez"])
def test_health_paths_are_open(secured, path):
    status, headers, body = call(secured, "GET", path)
    assert (status, body) == (200, "healthz check passed")
    assert headers["Content-Type"].startswith("text/plain")


def test_readyz_open_and_ready(secured):
    assert call(secured, "GET", "/readyz")[::2] == (200, "all shards are ready")


def test_root_is_open_and_has_no_envelope(secured):
    status, headers, body = call(secured, "GET", "/")
    assert status == 200
    assert json.loads(body) == {"title": "qdrant - vector search engine", "version": "1.19.0",
                                "commit": secured.config.commit}
    assert headers["Content-Type"] == "application/json"


def test_dashboard_is_open(secured):
    assert call(secured, "GET", "/dashboard")[0] == 200
    assert call(secured, "GET", "/dashboard/assets/app.js")[0] == 200


@pytest.mark.parametrize("path", ["/metrics", "/telemetry", "/collections", "/collections/products",
                                  "/no/such/path"])
def test_protected_paths_need_a_credential(secured, path):
    assert call(secured, "GET", path)[::2] == (401, NO_CRED)
    # src/actix/auth.rs: HttpResponse::Unauthorized().body(String) sets no Content-Type
    assert "Content-Type" not in call(secured, "GET", path)[1]


@pytest.mark.parametrize("path", ["/metrics", "/telemetry", "/collections"])
def test_wrong_key_is_401(secured, path):
    assert call(secured, "GET", path, key("nope"))[::2] == (401, WRONG)
    assert call(secured, "GET", path, bearer("nope"))[::2] == (401, WRONG)
    assert "Content-Type" not in call(secured, "GET", path, bearer("nope"))[1]
    # the Bearer prefix is case-sensitive (strip_prefix("Bearer ")): anything else is no credential
    assert call(secured, "GET", path, {"Authorization": "bearer " + KEY})[::2] == (401, NO_CRED)


def test_metrics_and_telemetry_with_keys(secured):
    for k in (KEY, RO_KEY):
        status, _headers, body = call(secured, "GET", "/metrics", key(k))
        assert status == 200 and "app_info" in body
        status, _headers, body = call(secured, "GET", "/telemetry", key(k))
        assert status == 200 and json.loads(body)["status"] == "ok"


# ---------------------------------------------------------------------------------------- API keys

@pytest.mark.parametrize("headers", [key(KEY), bearer(KEY)])
def test_full_key_lists_collections(secured, headers):
    status, _headers, body = call(secured, "GET", "/collections", headers)
    doc = json.loads(body)
    assert status == 200
    assert doc["status"] == "ok" and isinstance(doc["time"], float)
    assert [c["name"] for c in doc["result"]["collections"]] == ["orders", "products"]


def test_full_key_create_and_delete(secured):
    assert call(secured, "PUT", "/collections/c1", key(KEY), {"vectors": {"size": 4, "distance": "Cosine"}})[0] == 200
    assert "c1" in secured.collections
    status, _headers, body = call(secured, "PUT", "/collections/c1", key(KEY), {})
    assert status == 400 and "already exists" in json.loads(body)["status"]["error"]
    status, _headers, body = call(secured, "DELETE", "/collections/c1", key(KEY))
    assert (status, json.loads(body)["result"]) == (200, True)
    assert "c1" not in secured.collections


def test_delete_of_missing_collection_is_200_false_for_manage(secured):
    status, _headers, body = call(secured, "DELETE", "/collections/6f1c-does-not-exist", key(KEY))
    doc = json.loads(body)
    assert status == 200 and doc["result"] is False and doc["status"] == "ok"


def test_missing_collection_get_is_404(secured):
    status, _headers, body = call(secured, "GET", "/collections/nope", key(KEY))
    assert status == 404 and "doesn't exist" in json.loads(body)["status"]["error"]


def test_read_only_key_reads(secured):
    assert call(secured, "GET", "/collections", key(RO_KEY))[0] == 200
    assert call(secured, "GET", "/collections/products", bearer(RO_KEY))[0] == 200
    for p in ("points/search", "points/scroll", "points/count", "points/query", "points/recommend",
              "points/discover", "points/search/batch", "points"):
        assert call(secured, "POST", "/collections/products/" + p, key(RO_KEY), {})[0] == 200, p


@pytest.mark.parametrize("method,path,body", [
    ("DELETE", "/collections/missing-one", None),
    ("DELETE", "/collections/products", None),
    ("PUT", "/collections/new", {}),
    ("PATCH", "/collections/products", {}),
    ("PUT", "/collections/products/points", {"points": [{"id": 1, "vector": [0.1]}]}),
    ("POST", "/collections/products/points/delete", {"points": [1]}),
])
def test_read_only_key_is_refused_writes_with_403_json(secured, method, path, body):
    status, headers, text = call(secured, method, path, key(RO_KEY), body)
    assert status == 403
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(text)
    assert doc["status"]["error"].startswith("Forbidden: ")
    assert doc["time"] == 0.0
    assert "products" in secured.collections


def test_read_only_key_write_message_for_collection_delete(secured):
    _status, _headers, text = call(secured, "DELETE", "/collections/x", key(RO_KEY))
    assert json.loads(text) == {"status": {"error": "Forbidden: Global manage access is required"}, "time": 0.0}


def test_points_upsert_and_count(secured):
    assert call(secured, "PUT", "/collections/products/points", key(KEY),
                {"points": [{"id": 1, "vector": [0.1], "payload": {"a": 1}}]})[0] == 200
    _status, _headers, body = call(secured, "POST", "/collections/products/points/count", key(RO_KEY), {})
    assert json.loads(body)["result"] == {"count": 1}


def test_no_keys_means_open(make):
    s = make()
    assert call(s, "GET", "/collections")[0] == 200
    assert call(s, "DELETE", "/collections/x")[0] == 200


def test_only_read_only_key_configured(make):
    s = make(read_only_api_key=RO_KEY)
    assert call(s, "GET", "/collections")[0] == 401
    assert call(s, "GET", "/collections", key(RO_KEY))[0] == 200
    assert call(s, "DELETE", "/collections/x", key(RO_KEY))[0] == 403


def test_empty_key_is_unset(make):
    s = make(api_key="")
    assert call(s, "GET", "/collections")[0] == 200


def test_alt_api_key_is_a_second_full_key(make):
    """service.alt_api_key: AuthKeys::can_write accepts api_key or alt_api_key, both ways of sending it, and a
    token signed with either validates (Qdrant v1.19.0 src/common/auth/mod.rs, jwt_parser and alt_jwt_parser);
    an empty alt key is unset (AuthKeys::try_create)."""
    alt = "alternative-full-key-5566778899"
    s = make(api_key=KEY, alt_api_key=alt, read_only_api_key=RO_KEY, jwt_rbac=True)
    for k in (KEY, alt):
        for headers in (key(k), bearer(k)):
            status, _headers, body = call(s, "DELETE", "/collections/none", headers)
            assert (status, json.loads(body)["result"]) == (200, False)
        assert call(s, "GET", "/collections", bearer(jwt({"access": "r"}, secret=k)))[0] == 200
    assert call(s, "GET", "/collections", key("other"))[2] == WRONG
    status, _headers, body = call(s, "GET", "/collections", bearer(jwt({"access": "r"}, secret="other-secret-xyz")))
    assert (status, body) == (403, "InvalidSignature")
    only_alt = make(alt_api_key=alt)
    assert call(only_alt, "GET", "/collections")[0] == 401
    assert call(only_alt, "GET", "/collections", key(alt))[0] == 200
    assert call(make(api_key=KEY, alt_api_key=""), "GET", "/collections", key(""))[0] == 401


# --------------------------------------------------------------------------------------------- JWT

def test_jwt_read_token(secured):
    t = jwt({"access": "r"})
    assert call(secured, "GET", "/collections", bearer(t))[0] == 200
    assert call(secured, "GET", "/collections", key(t))[0] == 200
    assert call(secured, "POST", "/collections/orders/points/search", key(t), {})[0] == 200
    status, _headers, body = call(secured, "DELETE", "/collections/none", bearer(t))
    assert status == 403 and json.loads(body)["status"]["error"].startswith("Forbidden")


@pytest.mark.parametrize("claims", [{"access": "m"}, {}])
def test_jwt_manage_token_and_token_without_access_claim(secured, claims):
    t = jwt(claims)
    status, _headers, body = call(secured, "DELETE", "/collections/none", bearer(t))
    assert (status, json.loads(body)["result"]) == (200, False)


def test_jwt_per_collection(secured):
    t = jwt({"access": [{"collection": "products", "access": "r"}]})
    assert call(secured, "GET", "/collections/products", key(t))[0] == 200
    assert call(secured, "POST", "/collections/products/points/scroll", key(t), {})[0] == 200
    status, _headers, body = call(secured, "GET", "/collections/orders", key(t))
    assert status == 403 and "orders" in json.loads(body)["status"]["error"]
    assert call(secured, "POST", "/collections/orders/points/search", key(t), {})[0] == 403
    assert call(secured, "PUT", "/collections/products/points", key(t), {"points": []})[0] == 403
    assert call(secured, "DELETE", "/collections/products", key(t))[0] == 403
    assert call(secured, "GET", "/metrics", key(t))[0] == 403
    # the list is filtered to the token's collections
    _status, _headers, body = call(secured, "GET", "/collections", key(t))
    assert [c["name"] for c in json.loads(body)["result"]["collections"]] == ["products"]


def test_jwt_per_collection_rw_can_write_points_but_not_manage(secured):
    t = jwt({"access": [{"collection": "products", "access": "rw"}]})
    assert call(secured, "PUT", "/collections/products/points", key(t), {"points": [{"id": 2}]})[0] == 200
    assert call(secured, "PUT", "/collections/orders/points", key(t), {"points": [{"id": 2}]})[0] == 403
    assert call(secured, "DELETE", "/collections/products", key(t))[0] == 403


def test_jwt_expired_is_403_within_leeway_is_ok(secured):
    status, headers, body = call(secured, "GET", "/collections", bearer(jwt({"access": "r"}, ttl=-120)))
    assert (status, body) == (403, "ExpiredSignature") and "Content-Type" not in headers
    assert call(secured, "GET", "/collections", bearer(jwt({"access": "r"}, ttl=-10)))[0] == 200


def test_jwt_bad_signature_is_403(secured):
    status, headers, body = call(secured, "GET", "/collections", bearer(jwt({"access": "m"}, secret="other")))
    assert (status, body) == (403, "InvalidSignature") and "Content-Type" not in headers


def test_jwt_signed_with_read_only_key_is_refused(secured):
    assert call(secured, "GET", "/collections", bearer(jwt({"access": "m"}, secret=RO_KEY)))[0] == 403


def test_jwt_garbage_is_401(secured):
    assert call(secured, "GET", "/collections", bearer("a.b.c"))[::2] == (401, WRONG)
    assert call(secured, "GET", "/collections", bearer(jwt({"access": "x"})))[::2] == (401, WRONG)
    assert call(secured, "GET", "/collections", bearer(jwt({"access": "r", "exp": "soon"})))[::2] == (401, WRONG)


def test_jwt_without_exp_is_accepted_and_never_expires(secured):
    # jwt_parser.rs JwtParser::new: validation.required_spec_claims = Default::default() ("All claims are
    # optional"), claims.rs Claims.exp: Option<u64>
    assert call(secured, "GET", "/collections", bearer(mint_jwt(KEY, {"access": "r"})))[0] == 200
    status, _headers, body = call(secured, "DELETE", "/collections/none", bearer(mint_jwt(KEY, {"access": "r"})))
    assert status == 403 and json.loads(body)["status"]["error"] == "Forbidden: Global manage access is required"


def test_jwt_prw_writes_points_but_not_indexes_or_collections(secured):
    # rbac/mod.rs CollectionAccessMode::PointsReadWrite; ops_checks.rs: payload index needs write().extras()
    t = jwt({"access": [{"collection": "products", "access": "prw"}]})
    assert call(secured, "GET", "/collections/products", bearer(t))[0] == 200
    assert call(secured, "PUT", "/collections/products/points", bearer(t), {"points": [{"id": 7}]})[0] == 200
    status, _headers, body = call(secured, "PUT", "/collections/products/index", bearer(t), {"field_name": "x"})
    assert (status, json.loads(body)["status"]["error"]) == (
        403, "Forbidden: Only points access is allowed for collection products")
    status, _headers, body = call(secured, "DELETE", "/collections/products", bearer(t))
    assert (status, json.loads(body)["status"]["error"]) == (403, "Forbidden: Global access is required")


def test_global_read_on_a_collection_write_is_global_manage_refusal(secured):
    # rbac/mod.rs Access::check_collection_access: Access::Global(Read) -> "Global manage access is required"
    for headers in (key(RO_KEY), bearer(jwt({"access": "r"}))):
        status, _headers, body = call(secured, "PUT", "/collections/products/points", headers, {"points": []})
        assert (status, json.loads(body)["status"]["error"]) == (403, "Forbidden: Global manage access is required")


def test_jwt_rw_token_may_create_a_payload_index(secured):
    # ops_checks.rs CreatePayloadIndex: write().extras() on the collection, no manage
    t = jwt({"access": [{"collection": "products", "access": "rw"}]})
    assert call(secured, "PUT", "/collections/products/index", bearer(t), {"field_name": "x"})[0] == 200
    t = jwt({"access": [{"collection": "products", "access": "r"}]})
    status, _headers, body = call(secured, "PUT", "/collections/products/index", bearer(t), {"field_name": "x"})
    assert (status, json.loads(body)["status"]["error"]) == (
        403, "Forbidden: Write access to collection products is required")


def test_jwt_collection_token_on_global_operations(secured):
    # rbac/mod.rs Access::check_global_access: Access::Collection -> "Global access is required"
    t = jwt({"access": [{"collection": "products", "access": "rw"}]})
    for method, path in (("DELETE", "/collections/products"), ("PUT", "/collections/new"), ("GET", "/metrics")):
        status, headers, body = call(secured, method, path, bearer(t), {} if method == "PUT" else None)
        assert (status, json.loads(body)) == (403, {"status": {"error": "Forbidden: Global access is required"},
                                                    "time": 0.0}), path
        assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("access,text", [
    ([{"collection": "products", "access": "r", "payload": {"k": "v"}}],
     "access[0].payload: The 'payload' constraint is deprecated and should not be used"),
    ([{"collection": "products", "access": "r"}, {"collection": "products", "access": "rw"}],
     "access[1].collection: Collection name should be unique"),  # as recorded from Qdrant 1.19.0
])
def test_jwt_claims_that_fail_validation_are_401(secured, access, text):
    # jwt_parser.rs: claims.validate() error -> AuthError::Unauthorized; rbac/mod.rs validate_payload_empty,
    # validate_unique_collections
    status, headers, body = call(secured, "GET", "/collections/products", bearer(jwt({"access": access})))
    assert (status, body) == (401, text)
    assert "Content-Type" not in headers


def test_jwt_value_exists(secured):
    # common/auth/mod.rs AuthKeys::validate_value_exists
    claims = {"access": "r", "value_exists": {"collection": "users", "matches": [{"key": "user", "value": "alice"}]}}
    status, headers, body = call(secured, "GET", "/collections", bearer(jwt(claims)))
    assert (status, body) == (403, "Invalid JWT, stateful validation failed")  # collection missing
    assert "Content-Type" not in headers
    assert call(secured, "PUT", "/collections/users", key(KEY), {})[0] == 200
    assert call(secured, "PUT", "/collections/users/points", key(KEY),
                {"points": [{"id": 1, "payload": {"user": "bob"}}]})[0] == 200
    assert call(secured, "GET", "/collections", bearer(jwt(claims)))[::2] == (401, "Invalid JWT, stateful validation failed")
    assert call(secured, "PUT", "/collections/users/points", key(KEY),
                {"points": [{"id": 2, "payload": {"user": "alice"}}]})[0] == 200
    assert call(secured, "GET", "/collections", bearer(jwt(claims)))[0] == 200
    assert call(secured, "DELETE", "/collections/x", bearer(jwt(claims)))[0] == 403  # access r still applies
    no_access = {"value_exists": claims["value_exists"]}
    assert call(secured, "DELETE", "/collections/x", bearer(jwt(no_access)))[0] == 200  # full rights


def test_jwt_ignored_without_rbac(make):
    s = make(api_key=KEY, jwt_rbac=False)
    assert call(s, "GET", "/collections", bearer(jwt({"access": "m"})))[::2] == (401, WRONG)


def test_jwt_rbac_ignored_without_api_key(make):
    s = make(read_only_api_key=RO_KEY, jwt_rbac=True)
    t = mint_jwt(RO_KEY, {"access": "m", "exp": int(time.time()) + 60})
    assert call(s, "GET", "/collections", bearer(t))[::2] == (401, WRONG)
    s2 = make(jwt_rbac=True)
    assert call(s2, "DELETE", "/collections/x")[0] == 200  # no key at all: open


# ---------------------------------------------------------------------------------- misbehaviour

def test_auth_disabled(make):
    s = make(api_key=KEY, read_only_api_key=RO_KEY, auth_disabled=True)
    assert call(s, "GET", "/collections")[0] == 200
    assert call(s, "DELETE", "/collections/x", key("whatever"))[0] == 200


def test_accept_any_key(make):
    s = make(api_key=KEY, accept_any_key=True)
    assert call(s, "GET", "/collections")[0] == 401
    assert call(s, "GET", "/collections", key("wrong"))[0] == 200


def test_read_only_can_write(make):
    s = make(api_key=KEY, read_only_api_key=RO_KEY, read_only_can_write=True)
    assert call(s, "DELETE", "/collections/x", key(RO_KEY))[0] == 200


def test_not_ready_and_ready_after_requests(make):
    s = make(cluster_mode=True, ready=False, ready_after_requests=2)
    assert call(s, "GET", "/readyz")[::2] == (503, "some shards are not ready")
    assert call(s, "GET", "/readyz")[0] == 503
    assert call(s, "GET", "/readyz")[::2] == (200, "all shards are ready")


def test_ready_after_seconds(make):
    s = make(cluster_mode=True, ready=False, ready_after=0.3)
    assert call(s, "GET", "/readyz")[0] == 503
    time.sleep(0.35)
    assert call(s, "GET", "/readyz")[0] == 200


def test_single_node_readiness_switches_are_refused():
    # service_api.rs readyz: a single node answers 200 once it serves; only a cluster peer answers 503
    with pytest.raises(ValueError, match="startup_delay"):
        StandinConfig(ready=False)


def test_port_closed_while_loading(make):
    # Qdrant's main() loads every collection before it binds its HTTP port: connection refused meanwhile
    s = make(api_key=KEY, startup_delay=0.4)
    with pytest.raises(urllib.error.URLError) as e:
        call(s, "GET", "/livez", timeout=1)
    assert "Connection refused" in str(e.value.reason)
    time.sleep(0.5)
    assert call(s, "GET", "/livez")[::2] == (200, "healthz check passed")
    assert call(s, "GET", "/readyz")[::2] == (200, "all shards are ready")


def test_proxy_answers_503_first(make):
    s = make(api_key=KEY, proxy_503_requests=2)
    for _attempt in range(2):
        status, headers, body = call(s, "GET", "/livez")
        assert (status, body, headers["Server"]) == (503, "no healthy upstream", "envoy")
    assert call(s, "GET", "/livez")[::2] == (200, "healthz check passed")
    s = make(api_key=KEY, proxy_503_for=0.3)
    assert call(s, "GET", "/readyz")[0] == 503
    time.sleep(0.35)
    assert call(s, "GET", "/readyz")[0] == 200


def test_gateway_checks_keys_and_qdrant_behind_is_open(make):
    s = make(gateway_keys=(KEY, RO_KEY))
    status, headers, body = call(s, "GET", "/collections")
    assert (status, body, headers["Server"]) == (401, '{"message":"No API key found in request"}', "kong/3.9.0")
    assert call(s, "GET", "/collections", key("wrong"))[::2] == (401, '{"message":"Invalid authentication credentials"}')
    assert call(s, "GET", "/collections", bearer("wrong"))[0] == 401
    assert call(s, "GET", "/livez")[0] == 200  # health paths pass the Gateway
    # behind it Qdrant has no key: the read-only key can write
    assert call(s, "DELETE", "/collections/x", key(RO_KEY))[0] == 200


def test_never_ready(make):
    s = make(cluster_mode=True, ready=False)
    assert [call(s, "GET", "/readyz")[0] for _attempt in range(3)] == [503, 503, 503]
    assert call(s, "GET", "/livez")[0] == 200


def test_delay(make):
    s = make(delay=0.5)
    with pytest.raises(Exception):
        call(s, "GET", "/livez", timeout=0.2)


def test_redirect(make):
    s = make(api_key=KEY, redirect_to="https://login.example.test/")
    status, headers, _body = call(s, "GET", "/collections?x=1", key(KEY))
    assert status == 302
    assert headers["Location"] == "https://login.example.test/collections?x=1"


def test_non_json(make):
    s = make(api_key=KEY, non_json=True)
    status, headers, body = call(s, "GET", "/", key(KEY))
    assert status == 200 and headers["Content-Type"].startswith("text/html") and body.startswith("<!DOCTYPE")
    assert call(s, "GET", "/healthz")[2] == "healthz check passed"


def test_config_provider_is_consulted_per_request(make):
    s = make(api_key=KEY)
    current = {"cfg": StandinConfig(api_key="first")}
    s.config_provider = lambda: current["cfg"]
    assert call(s, "GET", "/collections", key("first"))[0] == 200
    current["cfg"] = StandinConfig(api_key="second")
    assert call(s, "GET", "/collections", key("first"))[0] == 401
    assert call(s, "GET", "/collections", key("second"))[0] == 200


def test_request_log_has_no_header_values(secured):
    t = jwt({"access": "r"})
    call(secured, "GET", "/collections", key(KEY))
    call(secured, "GET", "/collections", bearer(t))
    call(secured, "DELETE", "/collections/zz", key(RO_KEY))
    assert secured.requests == [("GET", "/collections", 200), ("GET", "/collections", 200),
                                ("DELETE", "/collections/zz", 403)]
    assert KEY not in repr(secured.requests) and t not in repr(secured.requests)


def test_https_with_throwaway_ca(make, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    s = make(api_key=KEY, tls=(str(certfile), str(keyfile)))
    assert s.url.startswith("https://127.0.0.1:")
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    assert call(s, "GET", "/collections", key(KEY), context=ctx)[0] == 200
    with pytest.raises(urllib.error.URLError):
        call(s, "GET", "/", context=ssl.create_default_context())


def test_jwt_misbehaviour_switches(make):
    s = make(api_key=KEY, jwt_rbac=True, jwt_leeway=10 ** 6, jwt_ignore_signature=True, jwt_ignore_access=True)
    assert call(s, "GET", "/collections", bearer(jwt({"access": "r"}, ttl=-3600)))[0] == 200
    assert call(s, "GET", "/collections", bearer(jwt({"access": "r"}, secret="other")))[0] == 200
    assert call(s, "DELETE", "/collections/x", bearer(jwt({"access": "r"})))[0] == 200
    assert call(s, "GET", "/collections/other", bearer(jwt({"access": [{"collection": "a", "access": "r"}]})))[0] == 404


def test_cluster_status_single_node_is_disabled(make):
    # lib/storage/src/types.rs ClusterStatus::Disabled, serde tag "status", in helpers::time's envelope
    s = make(api_key=KEY)
    status, _headers, body = call(s, "GET", "/cluster", key(KEY))
    assert status == 200 and json.loads(body)["result"] == {"status": "disabled"}


def test_cluster_status_enabled_shape(make):
    # lib/storage/src/types.rs ClusterInfo / RaftInfo / ConsensusThreadStatus; docs/redoc/master/openapi.json
    s = make(api_key=KEY, read_only_api_key=RO_KEY, cluster_mode=True, cluster_peers=3, cluster_missing_peers=1,
             cluster_send_failures=(2,))
    status, _headers, body = call(s, "GET", "/cluster", key(RO_KEY))  # global read access is enough
    assert status == 200
    result = json.loads(body)["result"]
    assert set(result) == {"status", "peer_id", "peers", "raft_info", "consensus_thread_status",
                           "message_send_failures"}
    assert result["status"] == "enabled" and result["peer_id"] == 1000
    assert result["peers"] == {"1000": {"uri": "http://qdrant-0.qdrant-headless:6335/"},
                               "1001": {"uri": "http://qdrant-1.qdrant-headless:6335/"}}
    assert set(result["raft_info"]) == {"term", "commit", "pending_operations", "leader", "role", "is_voter"}
    assert result["raft_info"]["leader"] == 1000 and result["raft_info"]["role"] == "Leader"
    assert result["consensus_thread_status"]["consensus_thread_status"] == "working"
    assert "last_update" in result["consensus_thread_status"]
    assert list(result["message_send_failures"]) == ["http://qdrant-2.qdrant-headless:6335/"]
    assert call(s, "GET", "/cluster")[::2] == (401, "Must provide an API key or an Authorization bearer token")


def test_cluster_status_knobs(make):
    s = make(api_key=KEY, cluster_mode=True, cluster_no_leader=True, cluster_consensus="stopped_with_err",
             cluster_pending_operations=4)
    result = json.loads(call(s, "GET", "/cluster", key(KEY))[2])["result"]
    assert result["raft_info"]["leader"] is None and result["raft_info"]["pending_operations"] == 4
    assert result["consensus_thread_status"]["consensus_thread_status"] == "stopped_with_err"
    assert result["consensus_thread_status"]["err"]
    with pytest.raises(ValueError, match="cluster_consensus"):
        StandinConfig(cluster_mode=True, cluster_consensus="broken")


def test_snapshot_endpoints_follow_qdrants_shapes(make):
    # src/actix/api/snapshot_api.rs create_snapshot / list_snapshots / get_snapshot / delete_collection_snapshot /
    # upload_snapshot; SnapshotDescription {name, creation_time, size, checksum} (docs/redoc/master/openapi.json)
    import hashlib
    s = make(api_key=KEY, read_only_api_key=RO_KEY)
    s.upsert("c", [{"id": 1, "vector": [1.0, 0.0], "payload": {"a": 1}}])
    status, _h, body = call(s, "POST", "/collections/c/snapshots?wait=true", key(KEY))
    desc = json.loads(body)["result"]
    assert status == 200 and set(desc) == {"name", "creation_time", "size", "checksum"}
    assert desc["name"].startswith("c-5381970470469335-") and desc["name"].endswith(".snapshot")
    assert json.loads(call(s, "GET", "/collections/c/snapshots", key(RO_KEY))[2])["result"] == [desc]
    req = urllib.request.Request(s.url + "/collections/c/snapshots/" + desc["name"], headers=key(RO_KEY))
    with urllib.request.urlopen(req, timeout=5) as resp:
        data = resp.read()
        assert resp.headers["Content-Type"] == "application/octet-stream"
    assert hashlib.sha256(data).hexdigest() == desc["checksum"] and len(data) == desc["size"]
    # the read-only key may list and download, not create (check_collection_access write) nor upload (manage)
    assert call(s, "POST", "/collections/c/snapshots", key(RO_KEY))[0] == 403
    boundary = "b0undary"
    form = (b"--b0undary\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"c.snapshot\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--b0undary--\r\n")

    def upload(k, query=""):
        req = urllib.request.Request(s.url + "/collections/d/snapshots/upload?priority=snapshot" + query, data=form,
                                     method="POST", headers=dict(key(k), **{
                                         "Content-Type": "multipart/form-data; boundary=" + boundary}))
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if e.headers.get("Content-Type") == "application/json" else raw.decode()

    # refused by upload_snapshot's access extractor, in plain text (recorded from Qdrant 1.19.0)
    assert upload(RO_KEY) == (403, "Forbidden: Global manage access is required")
    status, doc = upload(KEY, "&checksum=" + "0" * 64)
    assert (status, doc["status"]["error"]) == (400, "Checksum mismatch: expected %s, actual %s" % (
        desc["checksum"], "0" * 64))
    assert upload(KEY, "&checksum=" + desc["checksum"])[1]["result"] is True
    assert s.points("d") == {"1": {"a": 1}}
    assert call(s, "DELETE", "/collections/c/snapshots/" + desc["name"], key(KEY))[0] == 200
    # a download of a missing snapshot is a plain-text 404 (recorded from Qdrant 1.19.0)
    assert call(s, "GET", "/collections/c/snapshots/" + desc["name"], key(KEY))[2] == \
        "Not found: Snapshot %s not found" % desc["name"]


def test_recover_by_location_follows_the_upload_recovery_model(make):
    # PUT /collections/{name}/snapshots/recover and the upload share _do_recover_from_snapshot (recover.rs): the
    # local shard is cleared before the load (replica_set/snapshots.rs), so a failed load leaves it empty; the
    # restore is logged; the fault switches apply; texts as recorded (single-keyed.json recover_missing_file)
    s = make(api_key=KEY)
    s.upsert("c", [{"id": 1, "vector": [1.0, 0.0], "payload": {"a": 1}},
                   {"id": 2, "vector": [0.0, 1.0], "payload": {"a": 2}}])
    name = json.loads(call(s, "POST", "/collections/c/snapshots?wait=true", key(KEY))[2])["result"]["name"]
    body = {"location": "file:///qdrant/snapshots/c/" + name, "priority": "snapshot"}
    s.config.recovery_load_failures = 1
    assert call(s, "PUT", "/collections/c/snapshots/recover?wait=true", key(KEY), body)[0] == 500
    assert s.points("c") == {}
    s.config.lossy_recoveries = 1
    assert call(s, "PUT", "/collections/c/snapshots/recover?wait=true", key(KEY), body)[0] == 200
    assert s.points("c") == {"1": {"a": 1}}
    assert call(s, "PUT", "/collections/c/snapshots/recover?wait=true", key(KEY), body)[0] == 200
    assert s.points("c") == {"1": {"a": 1}, "2": {"a": 2}}
    assert s._state.restores == [("c", "snapshot")] * 3
    status, _h, raw = call(s, "PUT", "/collections/c/snapshots/recover?wait=true", key(KEY),
                           {"location": "file:///qdrant/snapshots/c/no-such.snapshot"})
    assert (status, json.loads(raw)["status"]["error"]) == (
        400, 'Bad request: Snapshot file "/qdrant/snapshots/c/no-such.snapshot" does not exist')
    assert len(s._state.restores) == 3

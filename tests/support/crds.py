"""Where the tests find the real CRDs (HTTPRoute, GRPCRoute, ExternalSecret, ServiceMonitor).

``crd_dir()`` returns ``$QDRANT_TEST_CRD_DIR`` or ``<repo>/../shared/crds``. When that directory lacks the
pinned files it tries, unless ``QDRANT_TEST_CRD_FETCH=0``, to download the same pinned upstream release files
into ``$XDG_CACHE_HOME/peekoff-qdrant/crds`` (``~/.cache/...``); with neither it raises CrdsMissing with a
message saying how to get them. It never lets a test skip silently.
"""
import os
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DIR = os.path.normpath(os.path.join(REPO, "..", "shared", "crds"))

# file name -> pinned upstream URL (the same releases as ../shared/crds/README.md)
PINNED = {
    "gateway.networking.k8s.io_httproutes.yaml":
        "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.6.1/config/crd/standard/"
        "gateway.networking.k8s.io_httproutes.yaml",
    "gateway.networking.k8s.io_grpcroutes.yaml":
        "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.6.1/config/crd/standard/"
        "gateway.networking.k8s.io_grpcroutes.yaml",
    "external-secrets.io_externalsecrets.yaml":
        "https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/config/crds/bases/"
        "external-secrets.io_externalsecrets.yaml",
    "monitoring.coreos.com_servicemonitors.yaml":
        "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/"
        "prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
}


class CrdsMissing(RuntimeError):
    pass


def _complete(d):
    return bool(d) and all(os.path.isfile(os.path.join(d, f)) for f in PINNED)


def _cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "peekoff-qdrant", "crds", "gateway-api-v1.6.1_external-secrets-v2.9.0_prometheus-operator-v0.93.0")


def _fetch(dest, timeout=15):
    os.makedirs(dest, exist_ok=True)
    for name, url in PINNED.items():
        target = os.path.join(dest, name)
        if os.path.isfile(target):
            continue
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - pinned https URLs
            data = resp.read()
        if b"CustomResourceDefinition" not in data:
            raise CrdsMissing("downloaded %s is not a CRD" % url)
        tmp = target + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)


def crd_dir():
    """Directory holding the pinned CRD files; raises CrdsMissing (never skips) when unavailable."""
    configured = os.environ.get("QDRANT_TEST_CRD_DIR")
    d = os.path.abspath(configured) if configured else DEFAULT_DIR
    if _complete(d):
        return d
    cache = _cache_dir()
    if _complete(cache):
        return cache
    why = ""
    if os.environ.get("QDRANT_TEST_CRD_FETCH", "1") != "0":
        try:
            _fetch(cache)
            if _complete(cache):
                return cache
        except Exception as e:  # noqa: BLE001 - any failure ends in the explanation below
            why = " Fetching them failed: %s." % e
    missing = [f for f in PINNED if not os.path.isfile(os.path.join(d, f))]
    raise CrdsMissing(
        "The CRDs for HTTPRoute, GRPCRoute, ExternalSecret and ServiceMonitor are missing from %s (%s%s).%s "
        "Get them by placing the project's shared/ directory beside the checkout (../shared/crds), or set "
        "QDRANT_TEST_CRD_DIR to a directory holding these upstream release files unchanged:\n%s"
        % (d, "missing: " if missing else "", ", ".join(missing), why,
           "\n".join("  %s  <- %s" % (n, u) for n, u in PINNED.items())))

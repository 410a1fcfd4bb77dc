# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reach Qdrant through the Kubernetes API server's service proxy, with the user's kubeconfig.

``<server>/api/v1/namespaces/<ns>/services/<scheme>:<service>:<port>/proxy`` forwards HTTP requests to the
Service without a port-forward. The Kubernetes credential (bearer token, client certificate or basic auth)
authenticates to the API server; the API server removes ``Authorization`` before forwarding, so Qdrant keys
and JWTs must go in the ``api-key`` header (QdrantClient does that when ``via_kubernetes_proxy`` is set).

Supported kubeconfig fields: clusters[].cluster.server, certificate-authority, certificate-authority-data,
insecure-skip-tls-verify, tls-server-name; users[].user.token, tokenFile, client-certificate(-data),
client-key(-data), username/password. ``exec`` and ``auth-provider`` credential plugins are refused with a
clear message: they would run programs or refresh tokens, which this module does not do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import shutil
import ssl
import tempfile
import traceback
from urllib.parse import quote, urlsplit

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import QdrantError, QdrantClient, redact_url

try:
    import yaml
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()


def default_kubeconfig_path(environ=None):
    """$KUBECONFIG (its first entry) or ~/.kube/config, as kubectl does."""
    environ = os.environ if environ is None else environ
    value = environ.get("KUBECONFIG")
    if value:
        for entry in value.split(os.pathsep):
            if entry:
                return os.path.expanduser(entry)
    return os.path.expanduser("~/.kube/config")


def _named(items, name, what, path):
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            value = item.get(what)
            if not isinstance(value, dict):
                raise QdrantError("kubeconfig %s: %s %r has no %s section" % (path, what, name, what))
            return value
    raise QdrantError("kubeconfig %s: no %s named %r" % (path, what, name))


def _b64(value, field, path):
    try:
        return base64.b64decode(value, validate=False)
    except (TypeError, ValueError):
        raise QdrantError("kubeconfig %s: %s is not valid base64" % (path, field))


def _relative(base_dir, file_path):
    file_path = os.path.expanduser(file_path)
    return file_path if os.path.isabs(file_path) else os.path.join(base_dir, file_path)


def _read(path, field, kubeconfig):
    try:
        with open(path, "rb") as f:
            return f.read()
    except (IOError, OSError) as e:
        raise QdrantError("kubeconfig %s: cannot read %s file %s: %s"
                          % (kubeconfig, field, path, to_native(e.strerror or e)))


class KubeTarget:
    """Everything needed to talk to a Service through the API server proxy."""

    def __init__(self, server, namespace, context_name, ssl_context, headers, secrets):
        self.server = server
        self.namespace = namespace
        self.context_name = context_name
        self.ssl_context = ssl_context
        self.headers = headers
        self.secrets = secrets  # values a caller should add to no_log_values


def load_kube_target(kubeconfig=None, context=None, namespace=None, validate_certs=True):
    """Parse a kubeconfig and return a KubeTarget. Raises QdrantError with a user-facing message."""
    if not HAS_YAML:  # pragma: no cover
        raise QdrantError("kubernetes_proxy needs the PyYAML Python library on the host running the module")
    path = kubeconfig or default_kubeconfig_path()
    try:
        with open(path, "r") as f:
            config = yaml.safe_load(f)
    except (IOError, OSError) as e:
        raise QdrantError("cannot read kubeconfig %s: %s (set kubernetes_proxy.kubeconfig or KUBECONFIG)"
                          % (path, to_native(e.strerror or e)))
    except yaml.YAMLError as e:
        raise QdrantError("kubeconfig %s is not valid YAML: %s" % (path, to_native(getattr(e, "problem", None) or e)))
    if not isinstance(config, dict):
        raise QdrantError("kubeconfig %s is not a kubeconfig (expected a mapping with clusters, users, contexts)"
                          % path)
    base_dir = os.path.dirname(os.path.abspath(path))

    context_name = context or config.get("current-context")
    if not context_name:
        raise QdrantError("kubeconfig %s has no current-context; set kubernetes_proxy.context" % path)
    ctx = _named(config.get("contexts"), context_name, "context", path)
    cluster = _named(config.get("clusters"), ctx.get("cluster"), "cluster", path)
    user_name = ctx.get("user")
    user = _named(config.get("users"), user_name, "user", path) if user_name else {}
    namespace = namespace or ctx.get("namespace") or "default"

    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise QdrantError("kubeconfig %s: cluster %r has no http(s) server URL" % (path, ctx.get("cluster")))
    server = server.rstrip("/")

    for plugin in ("exec", "auth-provider"):
        if user.get(plugin):
            raise QdrantError(
                "kubeconfig %s: user %r authenticates with an %s plugin, which qdrant_check does not support "
                "(it would run a program or refresh tokens); use a context whose user has a token or a client "
                "certificate (for example a ServiceAccount token), or reach Qdrant with url instead"
                % (path, user_name, plugin))

    headers = {}
    secrets = []
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = to_native(_read(_relative(base_dir, user["tokenFile"]), "tokenFile", path)).strip()
    if token:
        headers["Authorization"] = "Bearer %s" % token
        secrets.append(token)
    elif user.get("username") is not None and user.get("password") is not None:
        basic = base64.b64encode(("%s:%s" % (user["username"], user["password"])).encode("utf-8")).decode("ascii")
        headers["Authorization"] = "Basic %s" % basic
        secrets.extend([user["password"], basic])

    ssl_context = None
    if server.startswith("https://"):
        ssl_context = _ssl_context(cluster, user, base_dir, path, validate_certs, secrets)
    return KubeTarget(server, namespace, context_name, ssl_context, headers, secrets)


def _ssl_context(cluster, user, base_dir, path, validate_certs, secrets):
    insecure = bool(cluster.get("insecure-skip-tls-verify")) or not validate_certs
    ca_data = None
    if cluster.get("certificate-authority-data"):
        ca_data = _b64(cluster["certificate-authority-data"], "certificate-authority-data", path)
    elif cluster.get("certificate-authority"):
        ca_data = _read(_relative(base_dir, cluster["certificate-authority"]), "certificate-authority", path)
    try:
        if insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif ca_data:
            context = ssl.create_default_context(cadata=to_native(ca_data))
        else:
            context = ssl.create_default_context()
    except (ssl.SSLError, ValueError) as e:
        raise QdrantError("kubeconfig %s: certificate authority is not usable: %s" % (path, to_native(e)))

    cert = key = None
    if user.get("client-certificate-data"):
        cert = _b64(user["client-certificate-data"], "client-certificate-data", path)
    elif user.get("client-certificate"):
        cert = _read(_relative(base_dir, user["client-certificate"]), "client-certificate", path)
    if user.get("client-key-data"):
        key = _b64(user["client-key-data"], "client-key-data", path)
    elif user.get("client-key"):
        key = _read(_relative(base_dir, user["client-key"]), "client-key", path)
    if bool(cert) != bool(key):
        raise QdrantError("kubeconfig %s: a client certificate needs both the certificate and its key" % path)
    if cert:
        secrets.append(to_native(key).strip())
        # ssl loads a client certificate from files only: write them to a private directory, load, remove.
        tmp = tempfile.mkdtemp(prefix="qdrant-kube-")
        try:
            cert_file = os.path.join(tmp, "client.crt")
            key_file = os.path.join(tmp, "client.key")
            for file_path, content in ((cert_file, cert), (key_file, key)):
                fd = os.open(file_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
            if hasattr(context, "post_handshake_auth"):
                context.post_handshake_auth = True
            context.load_cert_chain(cert_file, key_file)
        except (ssl.SSLError, IOError, OSError) as e:
            raise QdrantError("kubeconfig %s: client certificate or key is not usable: %s"
                              % (path, to_native(getattr(e, "reason", None) or e)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    tls_server_name = cluster.get("tls-server-name")
    if tls_server_name and not insecure:
        # Verify the server certificate against this name instead of the URL's host.
        context = _ServerNameContext(context, tls_server_name)
    return context


class _ServerNameContext:
    """Wraps an SSLContext so that connections verify the certificate for ``tls-server-name``."""

    def __init__(self, context, server_name):
        self._context = context
        self._server_name = server_name

    def wrap_socket(self, sock, server_hostname=None, **kwargs):
        return self._context.wrap_socket(sock, server_hostname=self._server_name, **kwargs)

    def __getattr__(self, name):
        return getattr(self._context, name)


def service_proxy_url(server, namespace, service, port, scheme="http"):
    """``<server>/api/v1/namespaces/<ns>/services/<scheme>:<service>:<port>/proxy``."""
    for value, what in ((namespace, "namespace"), (service, "service")):
        if not value or "/" in value or ":" in value:
            raise QdrantError("kubernetes_proxy.%s must be a plain Kubernetes name; got %r" % (what, value))
    port = str(port)
    if not port or "/" in port or ":" in port:
        raise QdrantError("kubernetes_proxy.port must be a port number or name; got %r" % port)
    if scheme not in ("http", "https"):
        raise QdrantError("kubernetes_proxy.scheme must be http or https")
    return "%s/api/v1/namespaces/%s/services/%s:%s:%s/proxy" % (
        server.rstrip("/"), quote(namespace, safe=""), scheme, quote(service, safe=""), quote(port, safe=""))


def client_from_params(params, timeout=None):
    """Build a QdrantClient from the shared connection options (url or kubernetes_proxy).

    Returns ``(client, secrets)``: secrets are values (Kubernetes tokens, keys) the module should add to its
    ``no_log_values`` so that they can never be printed.
    """
    from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import validate_base_url

    timeout = params.get("timeout") if timeout is None else timeout
    proxy = params.get("kubernetes_proxy")
    if proxy:
        target = load_kube_target(kubeconfig=proxy.get("kubeconfig"), context=proxy.get("context"),
                                  namespace=proxy.get("namespace"), validate_certs=params.get("validate_certs", True))
        base = service_proxy_url(target.server, target.namespace, proxy.get("service"), proxy.get("port") or "6333",
                                 proxy.get("scheme") or "http")
        client = QdrantClient(base, timeout=timeout, ssl_context=target.ssl_context, base_headers=target.headers,
                              via_kubernetes_proxy=True)
        client.display_url = "%s (Service %s/%s port %s via the Kubernetes API proxy of %s)" % (
            redact_url(base), target.namespace, proxy.get("service"), proxy.get("port"), redact_url(target.server))
        return client, target.secrets
    base = validate_base_url(params.get("url"))
    if urlsplit(base).scheme == "http" and params.get("ca_path"):
        raise QdrantError("ca_path is set but url is plain http://; use an https:// url")
    return QdrantClient(base, timeout=timeout, validate_certs=params.get("validate_certs", True),
                        ca_path=params.get("ca_path")), []

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reach Qdrant through the Kubernetes API server's service proxy, with kubernetes.core's own client.

``<server>/api/v1/namespaces/<ns>/services/<scheme>:<service>:<port>/proxy`` forwards HTTP requests to the
Service without a port-forward. The API server consumes ``Authorization`` itself, so Qdrant keys and JWTs travel
in the ``api-key`` header on this path (QdrantClient.credential_headers does that when ``via_kubernetes_proxy``).

The connection to the API server is made exactly as kubernetes.core's modules make theirs, by the same code:

* options: ``kubernetes.core.plugins.module_utils.args_common.AUTH_ARG_SPEC`` (kubeconfig, context, host,
  api_key, username, password, validate_certs, ca_cert, client_cert, client_key, proxy, no_proxy, proxy_headers,
  persist_config, impersonate_user, impersonate_groups), nested in ``kubernetes_proxy``;
* client: ``kubernetes.core.plugins.module_utils.k8s.client.get_api_client(**options)``, which reads unset options
  from ``K8S_AUTH_*`` (``_create_auth_spec``), tries in-cluster config then the kubeconfig (``_create_configuration``;
  the ``kubernetes`` package's loader merges every file of a ``KUBECONFIG``-style list, runs ``exec`` credential
  plugins, refreshes ``auth-provider`` tokens, honours ``proxy-url`` and ``tls-server-name``), and returns a
  ``K8SClient`` whose ``.client.client`` is the configured ``kubernetes.client.ApiClient`` (k8s_exec uses it the
  same way: ``CoreV1Api(client.client)`` in kubernetes.core 6.6.0 plugins/modules/k8s_exec.py).

Requests go through that ApiClient's own urllib3 pool (``rest_client.pool_manager``: TLS, client certificate,
HTTP/SOCKS proxy of the configuration) with the headers the ApiClient would add (``configuration.auth_settings()``,
which calls the exec/auth-provider refresh hook, plus its default headers such as ``Impersonate-User``), but raw:
never following a redirect and returning every status with its body, where ``ApiClient.call_api`` would raise on
non-2xx and urllib3 would follow redirects.

Nothing here is imported unless ``kubernetes_proxy`` is used: ``url`` mode needs neither the ``kubernetes`` package
nor kubernetes.core's client code (only ``args_common``, plain Python, for the argument spec).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from urllib.parse import quote, urlsplit

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import (
    QdrantClient,
    QdrantError,
    Response,
    _num,
    natural_key,
    redact_url,
    request_payload,
)

# What a timeout through the API server's proxy most likely means (issue 20 point 6): the API server reached, but
# the pod never answered it, because an ingress NetworkPolicy admits only pods and the API server is none.
NETWORK_POLICY_HINT = (
    "the Kubernetes API server got no answer from the Qdrant pod: most likely the ingress NetworkPolicy "
    "(<qdrant_name>-ingress) does not admit the API server; give its addresses in "
    "qdrant_network_policy_api_server_cidrs (peekoff.qdrant.qdrant role), or use qdrant_check_via=url")


def proxy_timeout_hint(message):
    """NETWORK_POLICY_HINT for an API server proxy answer (a Status message) that says its dial to the pod timed
    out (kube-apiserver's proxy: "error trying to reach service: dial tcp <pod>: i/o timeout"), else ''."""
    text = (message or "").lower()
    return NETWORK_POLICY_HINT if ("timeout" in text or "timed out" in text or "deadline exceeded" in text) else ""


KUBERNETES_MIN_VERSION = "24.2.0"  # what kubernetes.core 6.x asks for (AnsibleK8SModule.has_at_least)

# What to reach, beside kubernetes.core's options for how to reach the API server.
PROXY_TARGET_SPEC = dict(
    namespace=dict(type="str"),
    service=dict(type="str", required=True),
    port=dict(type="str", default="6333"),
    scheme=dict(type="str", default="http", choices=["http", "https"]),
)


def kubernetes_connection_spec():
    """kubernetes.core's connection options (AUTH_ARG_SPEC), a copy."""
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

    return copy.deepcopy(AUTH_ARG_SPEC)


def kubernetes_proxy_options():
    """Suboptions of ``kubernetes_proxy``: kubernetes.core's connection options plus the Service to reach."""
    options = kubernetes_connection_spec()
    options.update(copy.deepcopy(PROXY_TARGET_SPEC))
    return options


def service_proxy_path(namespace, service, port, scheme="http"):
    """``/api/v1/namespaces/<ns>/services/<scheme>:<service>:<port>/proxy``."""
    for value, what in ((namespace, "namespace"), (service, "service")):
        if not value or "/" in value or ":" in value:
            raise QdrantError("kubernetes_proxy.%s must be a plain Kubernetes name; got %r" % (what, value))
    port = str(port)
    if not port or "/" in port or ":" in port:
        raise QdrantError("kubernetes_proxy.port must be a port number or name; got %r" % port)
    if scheme not in ("http", "https"):
        raise QdrantError("kubernetes_proxy.scheme must be http or https")
    return "/api/v1/namespaces/%s/services/%s:%s:%s/proxy" % (
        quote(namespace, safe=""), scheme, quote(service, safe=""), quote(port, safe=""))


def pod_proxy_path(namespace, pod, port, scheme="http"):
    """``/api/v1/namespaces/<ns>/pods/<scheme>:<pod>:<port>/proxy`` (the port is the container port number:
    kube-apiserver's pod ResourceLocation dials ``<pod IP>:<port>`` as given)."""
    for value, what in ((namespace, "namespace"), (pod, "pod")):
        if not value or "/" in value or ":" in value:
            raise QdrantError("%s must be a plain Kubernetes name; got %r" % (what, value))
    port = str(port)
    if not port.isdigit():
        raise QdrantError("the pod port must be a number; got %r" % port)
    return "/api/v1/namespaces/%s/pods/%s:%s:%s/proxy" % (quote(namespace, safe=""), scheme, quote(pod, safe=""),
                                                          port)


def _reason(err):
    """A short, secret-free reason for an error raised while building the client or talking to the API server."""
    status = getattr(err, "status", None)
    if isinstance(status, int):
        # kubernetes ApiException / dynamic DynamicApiError: their str() carries whole responses; status is enough.
        reason = getattr(err, "reason", None) or ""
        if isinstance(reason, tuple):  # kubernetes.dynamic.exceptions.DynamicApiError keeps it in a 1-tuple
            reason = reason[0] if reason else ""
        return ("HTTP %d %s" % (status, to_native(reason))).rstrip()
    inner = getattr(err, "reason", None) or getattr(err, "original_error", None)
    text = to_native(inner if isinstance(inner, BaseException) else err)
    return " ".join(text.split())[:300] or type(err).__name__


class KubernetesProxyClient(QdrantClient):
    """QdrantClient whose requests travel through the API server's service proxy on a kubernetes ApiClient.

    Same interface as QdrantClient (``request``, ``credential_headers``, ``display_url``, ``via_kubernetes_proxy``).
    """

    def __init__(self, api_client, namespace, service, port="6333", scheme="http", timeout=10.0):
        # Not QdrantClient.__init__: TLS towards the API server is the ApiClient's (kubeconfig CA, client
        # certificate, tls-server-name, proxy); Qdrant's own TLS, if any, is between the API server and the pod.
        self._api_client = api_client
        host = api_client.configuration.host.rstrip("/")
        self._host = host
        self.namespace, self.service, self.port, self.scheme = namespace, service, str(port), scheme
        self.base_url = host + service_proxy_path(namespace, service, port, scheme)
        self.timeout = float(timeout)
        self.via_kubernetes_proxy = True
        self._base_headers = {}
        self._ssl_context = None
        self.display_url = "%s (Service %s/%s port %s via the Kubernetes API proxy of %s)" % (
            redact_url(self.base_url), namespace, service, port, redact_url(host))

    def _kubernetes_headers(self):
        """What kubernetes.client.ApiClient adds to each of its requests: its default headers (User-Agent,
        Impersonate-*) and the header auth settings (the bearer token; this runs the exec/auth-provider refresh
        hook, ApiClient.update_params_for_auth -> Configuration.auth_settings)."""
        headers = dict(self._api_client.default_headers)
        for setting in self._api_client.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    def for_pod(self, pod, port):
        """A client for one pod through the API server's pod proxy
        (``/api/v1/namespaces/<ns>/pods/<scheme>:<pod>:<port>/proxy``, kube-apiserver
        pkg/registry/core/pod/rest/subresources.go ProxyREST; RBAC ``get`` on ``pods/proxy``)."""
        other = copy.copy(self)
        other.base_url = self._host + pod_proxy_path(self.namespace, pod, port, self.scheme)
        other.display_url = "%s (Pod %s/%s port %s via the Kubernetes API proxy of %s)" % (
            redact_url(other.base_url), self.namespace, pod, port, redact_url(self._host))
        return other

    def api_get(self, path, what):
        """GET a Kubernetes API path (e.g. the Service or its pods) and return its JSON; QdrantError otherwise.
        The error carries ``final=True`` when asking again cannot help (401, 403, 404: credentials, RBAC, a
        missing object)."""
        resp = self._send("GET", self._host + path)
        if resp.status == 200:
            try:
                doc = resp.json()
            except QdrantError:
                doc = None
            if isinstance(doc, dict):
                return doc
        reason = resp.describe()
        try:
            status = resp.json()
            if isinstance(status, dict) and status.get("kind") == "Status":
                reason = "HTTP %d %s" % (resp.status, " ".join(str(status.get("message")).split())[:200])
        except QdrantError:
            pass
        error = QdrantError("cannot read %s from the Kubernetes API: %s" % (what, reason))
        error.final = resp.status in (401, 403, 404)
        raise error

    def service_pods(self):
        """The pods behind the Service, as the endpoints controller finds them: the Service's ``spec.selector``
        matched against the namespace's pods (RBAC ``get`` on ``services``, ``list`` on ``pods``), each with the
        container port the Service port targets (``targetPort``, a number or a container port name; default the
        port itself). Returns ``(selector text, [(pod name, container port or None, phase, pod IP)])``, pods being
        deleted left out, sorted by name with ordinals as numbers (qdrant-2 before qdrant-10)."""
        base = "/api/v1/namespaces/%s" % quote(self.namespace, safe="")
        svc = self.api_get("%s/services/%s" % (base, quote(self.service, safe="")),
                           "Service %s/%s" % (self.namespace, self.service))
        spec = svc.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector:
            error = QdrantError("Service %s/%s has no selector: its pods cannot be found"
                                % (self.namespace, self.service))
            error.final = True
            raise error
        entry = next((p for p in spec.get("ports") or [] if str(p.get("port")) == self.port
                      or p.get("name") == self.port), None)
        if entry is None:
            error = QdrantError("Service %s/%s has no port %s" % (self.namespace, self.service, self.port))
            error.final = True
            raise error
        target = entry.get("targetPort", entry.get("port"))
        text = ",".join("%s=%s" % kv for kv in sorted(selector.items()))
        pods = self.api_get("%s/pods?labelSelector=%s" % (base, quote(text, safe="")),
                            "the pods of Service %s/%s" % (self.namespace, self.service))
        found = []
        for pod in pods.get("items") or []:
            meta, status = pod.get("metadata") or {}, pod.get("status") or {}
            if meta.get("deletionTimestamp"):
                continue
            port = str(target) if isinstance(target, int) or str(target).isdigit() else None
            if port is None:  # a named targetPort: the container port of that name (podutil.FindPort)
                for container in (pod.get("spec") or {}).get("containers") or []:
                    for cport in container.get("ports") or []:
                        if cport.get("name") == target and port is None:
                            port = str(cport.get("containerPort"))
            found.append((meta.get("name"), port, status.get("phase"), status.get("podIP")))
        return text, sorted(found, key=lambda item: natural_key(item[0]))

    def request(self, method, path, credential=None, bearer=False, body=None, timeout=None, data=None,
                content_type=None, content_length=None, sink=None):
        """Send one request through the service proxy; a Response for every HTTP status, QdrantError below HTTP.

        The arguments mean what they mean for ``QdrantClient.request`` (``data``/``content_type``/``content_length``
        for a raw or streamed upload, ``sink`` to stream a 2xx body, e.g. a snapshot download).
        """
        return self._send(method, self.base_url + path, credential=credential, bearer=bearer, body=body,
                          timeout=timeout, data=data, content_type=content_type, content_length=content_length,
                          sink=sink)

    def _send(self, method, url, credential=None, bearer=False, body=None, timeout=None, data=None,
              content_type=None, content_length=None, sink=None):
        import urllib3

        where = "%s %s" % (method, redact_url(url))
        timeout = self.timeout if timeout is None else timeout
        headers = {"Accept": "application/json, text/plain;q=0.9, */*;q=0.1"}
        data = request_payload(headers, body, data, content_type, content_length)
        try:
            headers.update(self._kubernetes_headers())
        except Exception as e:  # noqa: BLE001 - an exec plugin or token refresh failing; never a traceback
            raise QdrantError("%s: cannot get a Kubernetes credential: %s" % (where, _reason(e)))
        headers.update(self.credential_headers(credential, bearer=bearer))
        try:
            resp = self._api_client.rest_client.pool_manager.request(
                method, url, body=data, headers=headers, redirect=False, retries=False, preload_content=sink is None,
                timeout=urllib3.Timeout(connect=timeout, read=timeout))
            if sink is not None:
                try:
                    if 200 <= resp.status < 300:
                        for chunk in resp.stream(1024 * 1024):
                            sink(chunk)
                        return Response(resp.status, dict(resp.headers.items()), b"", url)
                    payload = resp.read()
                finally:
                    resp.release_conn()
                return Response(resp.status, dict(resp.headers.items()), payload, url)
        except urllib3.exceptions.NewConnectionError as e:  # a ConnectTimeoutError subclass: check it first
            raise QdrantError("%s: cannot connect: %s" % (where, _reason(e)))
        except urllib3.exceptions.ReadTimeoutError:
            # connected to the API server, which did not answer in time: it is most likely still dialling the pod
            raise QdrantError("%s: no answer within %s s (timeout): %s" % (where, _num(timeout), NETWORK_POLICY_HINT))
        except urllib3.exceptions.TimeoutError:
            raise QdrantError("%s: no answer within %s s (timeout)" % (where, _num(timeout)))
        except urllib3.exceptions.SSLError as e:
            raise QdrantError("%s: TLS to the Kubernetes API failed: %s" % (where, _reason(e)))
        except urllib3.exceptions.ProxyError as e:
            raise QdrantError("%s: the HTTP proxy towards the Kubernetes API failed: %s" % (where, _reason(e)))
        except (urllib3.exceptions.HTTPError, IOError, OSError, ValueError) as e:
            raise QdrantError("%s: request failed: %s" % (where, _reason(e)))
        return Response(resp.status, dict(resp.headers.items()), resp.data, url)


def _context_namespace(auth):
    """The namespace of the kubeconfig context kubernetes.core uses, as kubectl takes it; None without one."""
    import kubernetes

    kubeconfig = auth.get("kubeconfig")
    try:
        if isinstance(kubeconfig, dict):
            loader = kubernetes.config.kube_config.KubeConfigLoader(config_dict=kubeconfig)
            contexts, current = loader.list_contexts(), loader.current_context
        else:
            contexts, current = kubernetes.config.list_kube_config_contexts(config_file=kubeconfig or None)
    except Exception:  # noqa: BLE001 - in-cluster config or host/api_key only: no kubeconfig to read
        return None
    if auth.get("context"):
        current = next((c for c in contexts if c.get("name") == auth["context"]), None)
    return ((current or {}).get("context") or {}).get("namespace")


def _credential_values(configuration):
    """Every credential value the configuration holds, for no_log_values."""
    values = set()
    for value in (getattr(configuration, "api_key", None) or {}).values():
        if value:
            values.add(value)
            scheme, _sep, rest = value.partition(" ")
            if rest and scheme.lower() in ("bearer", "basic"):
                values.add(rest)
    if getattr(configuration, "password", None):
        values.add(configuration.password)
    return values


def kubernetes_proxy_client(proxy, timeout):
    """Build a KubernetesProxyClient from the ``kubernetes_proxy`` suboptions. Returns ``(client, secrets)``.

    A QdrantError raised after an inline kubeconfig was read carries its secret values in ``.secrets``.
    """
    try:
        from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import requires

        requires("kubernetes", KUBERNETES_MIN_VERSION, reason="for kubernetes_proxy (url mode does not need it)")
    except Exception as e:  # noqa: BLE001 - requires() raises a bare Exception with missing_required_lib's text
        raise QdrantError(to_native(e))
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
        extract_sensitive_values_from_kubeconfig,
    )
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
        _create_auth_spec,
        get_api_client,
    )

    options = dict((k, proxy.get(k)) for k in kubernetes_connection_spec() if proxy.get(k) is not None)
    secrets = set()
    if isinstance(options.get("kubeconfig"), dict):
        # as kubernetes.core's AnsibleK8SModule does for an inline kubeconfig
        secrets.update(extract_sensitive_values_from_kubeconfig(options["kubeconfig"]))
    auth = _create_auth_spec(None, **options)  # the options plus K8S_AUTH_* for the unset ones
    where = "the Kubernetes API%s%s" % (
        " at %s" % redact_url(auth["host"]) if auth.get("host") else "",
        " (context %s)" % auth["context"] if auth.get("context") else "")
    try:
        k8s_client = get_api_client(**options)
    except Exception as e:  # noqa: BLE001 - CoreException, ConfigException, discovery errors, missing files...
        error = QdrantError("kubernetes_proxy: cannot use %s: %s" % (where, _reason(e)))
        error.secrets = sorted(secrets)  # the caller hides them even though it gets no client
        raise error
    api_client = k8s_client.client.client  # K8SClient -> K8SDynamicClient -> kubernetes.client.ApiClient
    secrets.update(_credential_values(api_client.configuration))

    namespace = proxy.get("namespace")
    if not namespace and not (auth.get("host") and not auth.get("kubeconfig")):
        namespace = _context_namespace(auth)
    client = KubernetesProxyClient(api_client, namespace or "default", proxy.get("service"),
                                   proxy.get("port") or "6333", proxy.get("scheme") or "http", timeout=timeout)
    return client, sorted(secrets)


def client_from_params(params, timeout=None):
    """Build a client from the shared connection options (url or kubernetes_proxy).

    Returns ``(client, secrets)``: secrets are values (Kubernetes tokens, passwords) the module should add to its
    ``no_log_values`` so that they can never be printed.
    """
    from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import validate_base_url

    timeout = params.get("timeout") if timeout is None else timeout
    proxy = params.get("kubernetes_proxy")
    if proxy:
        return kubernetes_proxy_client(proxy, timeout)
    base = validate_base_url(params.get("url"))
    if urlsplit(base).scheme == "http" and params.get("ca_path"):
        raise QdrantError("ca_path is set but url is plain http://; use an https:// url")
    return QdrantClient(base, timeout=timeout, validate_certs=params.get("validate_certs", True),
                        ca_path=params.get("ca_path")), []

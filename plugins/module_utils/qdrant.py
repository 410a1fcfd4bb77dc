# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared connection code for the peekoff.qdrant modules.

One argument spec (paired with the ``peekoff.qdrant.qdrant`` doc fragment), one exception type, and an HTTP
client on ansible's ``Request``/``open_url`` machinery that

* never follows a redirect (a 3xx answer is returned to the caller, who decides; credentials never travel to
  another host),
* never puts a header value (API key, JWT, Kubernetes token) into a message, a result or a log line,
* can reach Qdrant directly (``url``) or through the Kubernetes API server's service proxy
  (``kubernetes_proxy``, see :mod:`qdrant_kube`), in which case Qdrant credentials travel in the ``api-key``
  header because the API server consumes ``Authorization`` itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re
import socket
import ssl

from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit, urlunsplit

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import Request, make_context


USER_AGENT = "peekoff.qdrant"


def natural_key(value):
    """Sort key that orders the numbers inside a name by value: qdrant-2 before qdrant-10 (a StatefulSet's pods
    by ordinal, Qdrant's numeric peer ids), where a plain string sort puts qdrant-10 first."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"([0-9]+)", str(value)) if part != ""]


class QdrantError(Exception):
    """Anything that goes wrong talking to Qdrant or reading the connection settings.

    Messages are meant for the user (turned into ``fail_json(msg=...)``) and never contain a secret.
    """


def qdrant_argument_spec():
    """The connection options every peekoff.qdrant module takes (doc fragment ``peekoff.qdrant.qdrant``)."""
    # Imported here: qdrant_kube imports this module.
    from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_kube import kubernetes_proxy_options

    return dict(
        url=dict(type="str"),
        api_key=dict(type="str", no_log=True),
        read_only_api_key=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path"),
        timeout=dict(type="float", default=10.0),
        # kubernetes.core's connection options plus the Service (qdrant_kube.kubernetes_proxy_options).
        kubernetes_proxy=dict(type="dict", options=kubernetes_proxy_options()),
    )


# Arguments to AnsibleModule that go with qdrant_argument_spec().
QDRANT_REQUIRED_ONE_OF = [("url", "kubernetes_proxy")]
QDRANT_MUTUALLY_EXCLUSIVE = [("url", "kubernetes_proxy"), ("client_cert", "kubernetes_proxy")]
QDRANT_REQUIRED_TOGETHER = [("client_cert", "client_key")]


def redact_url(url):
    """Drop user info, query and fragment from a URL so that it can be shown."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def plain_http_host(url):
    """The host of an http:// url that is not a loopback address (keys would cross the network in clear text),
    else None."""
    try:
        parts = urlsplit(url or "")
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme != "http" or not host or host == "localhost" or host.endswith(".localhost"):
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return host


def validate_base_url(url):
    """Return the URL without trailing slash, or raise QdrantError for something that is not http(s)://host."""
    if not isinstance(url, str) or not url:
        raise QdrantError("url must be an http:// or https:// URL, e.g. https://qdrant.example.com")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise QdrantError("url is not a valid URL: %s" % redact_url(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise QdrantError("url must start with http:// or https:// and name a host; got %s" % redact_url(url))
    if "@" in parts.netloc:
        raise QdrantError("url must not carry user information (user:password@); pass keys with api_key")
    if parts.query or parts.fragment:
        raise QdrantError("url must not have a query string or fragment; got %s" % redact_url(url))
    return url.rstrip("/")


class Response:
    """What came back: status, lower-cased headers, body. ``json()`` raises QdrantError on a non-JSON body."""

    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())
        self.body = body or b""
        self.url = url

    @property
    def text(self):
        return to_text(self.body, errors="surrogate_or_replace")

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    @property
    def is_redirect(self):
        return 300 <= self.status < 400

    @property
    def location(self):
        return redact_url(self.headers.get("location", "")) if self.headers.get("location") else ""

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            raise QdrantError("expected a JSON answer, got %s" % self.describe())

    def short_text(self, limit=80):
        text = " ".join(self.text.split())
        return text if len(text) <= limit else text[:limit] + "..."

    def describe(self):
        """One line for a report: status plus a short, safe look at the body (or the redirect target)."""
        if self.is_redirect:
            return "HTTP %d redirect to %s" % (self.status, self.location or "(no Location)")
        ctype = self.content_type.split(";")[0].strip() or "no content type"
        text = self.short_text()
        return "HTTP %d (%s) %r" % (self.status, ctype, text) if text else "HTTP %d (%s)" % (self.status, ctype)


class QdrantClient:
    """A small HTTP client for Qdrant's REST API.

    :arg base_url: ``https://qdrant.example.com`` or the service-proxy URL built by qdrant_kube.
    :kwarg timeout: seconds for each request.
    :kwarg validate_certs, ca_path: TLS verification towards ``base_url`` (ignored when ``ssl_context`` is set).
    :kwarg ssl_context: a ready ``ssl.SSLContext`` (instead of building one from ``validate_certs``/``ca_path``).
    :kwarg base_headers: headers sent with every request (e.g. the Kubernetes credential). Never reported.
    :kwarg via_kubernetes_proxy: Qdrant credentials must then go in ``api-key`` (the API server strips
        ``Authorization``).
    """

    def __init__(self, base_url, timeout=10.0, validate_certs=True, ca_path=None, ssl_context=None,
                 base_headers=None, via_kubernetes_proxy=False):
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.via_kubernetes_proxy = via_kubernetes_proxy
        self._base_headers = dict(base_headers or {})
        if ssl_context is None and not self.base_url.startswith("https://"):
            # Never used for http://, but given so that ansible's Request does not build (and load the system
            # CA store into) a new context for every request.
            ssl_context = ssl.create_default_context()
        elif ssl_context is None:
            try:
                ssl_context = make_context(cafile=ca_path, validate_certs=validate_certs)
            except (IOError, OSError, ssl.SSLError) as e:
                raise QdrantError("cannot use ca_path %s: %s" % (ca_path, to_native(getattr(e, "strerror", None) or e)))
        self._ssl_context = ssl_context
        self.display_url = redact_url(self.base_url)

    def load_client_certificate(self, client_cert, client_key):
        """Present this certificate to an https:// Qdrant that requires client certificates
        (``service.verify_https_client_certificate: true``). Never for the Kubernetes API proxy path, whose TLS
        context belongs to the API server."""
        if self.via_kubernetes_proxy or not self.base_url.startswith("https://"):
            raise QdrantError("client_cert and client_key need an https:// url (Qdrant with TLS); through "
                              "kubernetes_proxy the API server, not this module, connects to Qdrant")
        try:
            self._ssl_context.load_cert_chain(client_cert, client_key)
        except (IOError, OSError, ssl.SSLError) as e:
            raise QdrantError("cannot use client_cert %s / client_key %s: %s" % (
                client_cert, client_key, to_native(getattr(e, "strerror", None) or getattr(e, "reason", None) or e)))

    def credential_headers(self, credential, bearer=False):
        """Headers carrying a Qdrant API key or JWT: ``api-key``, or ``Authorization: Bearer`` when asked and
        the request goes straight to Qdrant."""
        if credential is None:
            return {}
        if bearer and not self.via_kubernetes_proxy:
            return {"Authorization": "Bearer %s" % credential}
        return {"api-key": credential}

    def request(self, method, path, credential=None, bearer=False, body=None, timeout=None, data=None,
                content_type=None, content_length=None, sink=None):
        """Send one request and return a Response for every HTTP status (2xx-5xx, and 3xx unfollowed).

        ``body`` is sent as JSON. For anything else give ``data`` (bytes, or a file-like object with
        ``content_length``) and its ``content_type`` (e.g. a multipart snapshot upload). With ``sink`` (a callable
        taking bytes), a 2xx body is handed to it in chunks instead of being kept (e.g. a snapshot download);
        the Response then has an empty body.

        Raises QdrantError for failures below HTTP (refused connection, TLS, timeout), naming the URL without
        secrets.
        """
        url = self.base_url + path
        headers = {"Accept": "application/json, text/plain;q=0.9, */*;q=0.1"}
        headers.update(self._base_headers)
        headers.update(self.credential_headers(credential, bearer=bearer))
        data = request_payload(headers, body, data, content_type, content_length)
        timeout = self.timeout if timeout is None else timeout
        where = "%s %s" % (method, redact_url(url))
        req = Request(http_agent=USER_AGENT, follow_redirects="none", use_netrc=False)
        try:
            resp = req.open(method, url, data=data, headers=headers, timeout=timeout, context=self._ssl_context,
                            use_proxy=True)
            try:
                if sink is not None and 200 <= resp.status < 300:
                    for chunk in iter(lambda: resp.read(1024 * 1024), b""):
                        sink(chunk)
                    return Response(resp.status, dict(resp.headers.items()), b"", url)
                return Response(resp.status, dict(resp.headers.items()), resp.read(), url)
            finally:
                resp.close()
        except HTTPError as e:  # every status >= 300 when redirects are not followed
            try:
                payload = e.read() if e.fp is not None else b""
            except (IOError, OSError, HTTPException):
                payload = b""
            headers_out = dict(e.headers.items()) if e.headers is not None else {}
            return Response(e.code, headers_out, payload, url)
        except (socket.timeout, TimeoutError):
            raise QdrantError("%s: no answer within %s s (timeout)" % (where, _num(timeout)))
        except ssl.SSLError as e:
            raise QdrantError("%s: TLS failed: %s" % (where, _ssl_reason(e)))
        except URLError as e:
            reason = e.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise QdrantError("%s: no answer within %s s (timeout)" % (where, _num(timeout)))
            if isinstance(reason, ssl.SSLError):
                raise QdrantError("%s: TLS failed: %s" % (where, _ssl_reason(reason)))
            raise QdrantError("%s: cannot connect: %s" % (where, to_native(getattr(reason, "strerror", None) or reason)))
        except (HTTPException, IOError, OSError, ValueError) as e:
            raise QdrantError("%s: request failed: %s" % (where, to_native(e)))


def request_payload(headers, body=None, data=None, content_type=None, content_length=None):
    """The bytes (or file-like object) to send, with Content-Type/Content-Length added to ``headers``: ``body`` as
    JSON, else ``data`` as given. Shared by QdrantClient and the kubernetes_proxy client."""
    if body is not None:
        headers["Content-Type"] = "application/json"
        return json.dumps(body).encode("utf-8")
    if data is not None:
        headers["Content-Type"] = content_type or "application/octet-stream"
        if content_length is not None:
            headers["Content-Length"] = str(content_length)
    return data


def _num(value):
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%g" % value)


def _ssl_reason(err):
    if isinstance(err, ssl.SSLCertVerificationError):
        return ("certificate verification failed (%s); give the CA that signed the server certificate in ca_path, "
                "or set validate_certs=false only for testing" % (err.verify_message or err.reason))
    return to_native(getattr(err, "reason", None) or err)

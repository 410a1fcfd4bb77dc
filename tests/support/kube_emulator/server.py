"""HTTP front end of the emulator: routing, discovery, auth, faults, watch, Table output, service proxy."""
import datetime
import http.client
import json
import re
import ssl
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import schemas
from .errors import ApiError, bad_request, method_not_allowed, path_not_found, unauthorized

OPEN_PATHS = ("/version", "/healthz", "/livez", "/readyz")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-emulator"

    def log_message(self, fmt, *args):  # quiet
        pass

    # ------------------------------------------------------------------ plumbing
    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, headers=None, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            if isinstance(v, list):
                for x in v:
                    self.send_header(k, x)
            else:
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, e):
        self._send(e.code, e.status(), e.headers)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_PATCH(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    def do_OPTIONS(self):
        self._handle()

    # ------------------------------------------------------------------ dispatch
    def _handle(self):
        emu = self.server.emulator
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        emu._record(self.command, path, parsed.query)
        try:
            body = self._body()
            auth = self.headers.get("Authorization")
            if auth is not None or path.rstrip("/") not in OPEN_PATHS:
                if auth != "Bearer %s" % emu.token:
                    raise unauthorized()
            fault = emu._take_fault(self.command, path)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.drop:
                    self.close_connection = True
                    return
                if fault.status:
                    self._send(fault.status, fault.status_body(), fault.response_headers())
                    return
            self._route(emu, path, query, body)
        except ApiError as e:
            self._error(e)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # noqa: BLE001 - surface as InternalError like the apiserver
            import traceback
            traceback.print_exc()
            self._error(ApiError(500, "InternalError", "Internal error occurred: %s" % e,
                                 {"causes": [{"message": str(e)}]}))

    def _route(self, emu, path, query, body):
        cluster = emu.cluster
        segs = [s for s in path.split("/") if s]
        m = self.command
        if path.rstrip("/") in ("/healthz", "/livez", "/readyz"):
            return self._send(200, b"ok", content_type="text/plain; charset=utf-8")
        if path.rstrip("/") == "/version":
            return self._send(200, emu.version_info())
        if segs and segs[0] == "openapi":
            return self._openapi(cluster, segs)
        if not segs or segs[0] not in ("api", "apis"):
            raise path_not_found()
        if m == "GET" and segs == ["api"]:
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "%s:%d" % self.server.server_address[:2]}]})
        if m == "GET" and segs == ["apis"]:
            return self._send(200, self._group_list(cluster))
        if segs[0] == "api":
            if len(segs) < 2 or segs[1] != "v1":
                raise path_not_found()
            group, version, rest = "", "v1", segs[2:]
        else:
            if len(segs) == 2:
                g = [x for x in self._group_list(cluster)["groups"] if x["name"] == segs[1]]
                if not g or m != "GET":
                    raise path_not_found()
                return self._send(200, dict(kind="APIGroup", apiVersion="v1", **g[0]))
            group, version, rest = segs[1], segs[2], segs[3:]
        with cluster.lock:
            if version not in cluster.group_versions().get(group, []):
                raise path_not_found()
            if not rest:
                if m != "GET":
                    raise method_not_allowed()
                return self._send(200, self._resource_list(cluster, group, version))
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and len(rest) == 3 and
                                                               rest[2] in ("status", "finalize")):
            ns = urllib.parse.unquote(rest[1])
            rest = rest[2:]
        plural = rest[0]
        name = urllib.parse.unquote(rest[1]) if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        rt = cluster.type_by_path(group, version, plural)
        if rt is None or (ns is not None and not rt.namespaced):
            raise path_not_found()
        if sub is not None and sub not in rt.subresources:
            raise path_not_found()
        if sub == "proxy" and rt.kind == "Service":
            return self._proxy(emu, ns, name, "/" + "/".join(rest[3:]), path.endswith("/"), body)
        if sub == "proxy" and rt.kind == "Pod":
            return self._pod_proxy(emu, ns, name, "/" + "/".join(rest[3:]), path.endswith("/"), body)
        if len(rest) > 3 or sub in ("scale", "token", "log", "finalize", "proxy"):
            if sub == "scale":
                return self._scale(cluster, rt, ns, name, body, query)
            raise method_not_allowed()
        q = {k: v[-1] for k, v in query.items()}
        dry = q.get("dryRun")
        if dry not in (None, "All"):
            raise bad_request('Invalid dryRun: Unsupported value: "%s": supported values: "All"' % dry)
        dry = dry == "All"
        fv = q.get("fieldValidation")
        fm = q.get("fieldManager")
        # Without fieldManager a write is recorded under the client's User-Agent up to the first "/"
        # (managerOrUserAgent, staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go); apply needs one.
        ua_fm = fm or (self.headers.get("User-Agent") or "unknown").split("/")[0][:128]
        warnings = []
        if m in ("GET", "HEAD"):
            if name is None:
                if q.get("watch") in ("1", "true", "True"):
                    return self._watch(cluster, rt, ns, q)
                result = cluster.list(rt, ns, q.get("labelSelector"), q.get("fieldSelector"))
                return self._send_maybe_table(rt, result, listing=True)
            return self._send_maybe_table(rt, cluster.get(rt, ns, name), listing=False)
        if rt.namespaced and ns is None and name is not None:
            raise path_not_found()
        if m == "POST":
            if name is not None:
                raise method_not_allowed()
            obj = self._json(body)
            result, warnings = cluster.create(rt, ns, obj, dry, fv, ua_fm)
            return self._send(201, result, self._warn_headers(warnings))
        if m == "PUT":
            if name is None:
                raise method_not_allowed()
            obj = self._json(body)
            with cluster.lock:
                existed = cluster.objects.get(cluster.key(rt, ns, name)) is not None
                result, warnings = cluster.update(rt, ns, name, obj, dry, fv, sub, ua_fm)
            return self._send(200 if existed else 201, result, self._warn_headers(warnings))
        if m == "PATCH":
            if name is None:
                raise method_not_allowed()
            force = q.get("force") in ("true", "1", "True")
            with cluster.lock:
                existed = cluster.objects.get(cluster.key(rt, ns, name)) is not None
                ct = self.headers.get("Content-Type")
                is_apply = (ct or "").split(";")[0].strip() in ("application/apply-patch+yaml",
                                                                "application/apply-patch+cbor")
                result, warnings = cluster.patch(rt, ns, name, body, ct, dry, fv, fm if is_apply else ua_fm,
                                                 force, sub)
            return self._send(200 if existed else 201, result, self._warn_headers(warnings))
        if m == "DELETE":
            opts = self._json(body) if body.strip() else {}
            prop = q.get("propagationPolicy") or (opts or {}).get("propagationPolicy")
            if (opts or {}).get("dryRun") == ["All"]:
                dry = True
            if name is None:
                return self._send(200, cluster.delete_collection(rt, ns, q.get("labelSelector"),
                                                                 q.get("fieldSelector"), dry))
            result = cluster.delete(rt, ns, name, dry, prop, (opts or {}).get("preconditions"))
            return self._send(200, result)
        raise method_not_allowed()

    @staticmethod
    def _json(body):
        try:
            return json.loads(body or b"null")
        except ValueError as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)

    @staticmethod
    def _warn_headers(warnings):
        if not warnings:
            return {}
        return {"Warning": ['299 - "%s"' % w.replace('"', '\\"') for w in warnings]}

    # ------------------------------------------------------------------ discovery
    @staticmethod
    def _group_list(cluster):
        groups = []
        with cluster.lock:
            gvs = cluster.group_versions()
        for g, versions in gvs.items():
            if not g:
                continue
            versions = sorted(versions, key=_version_priority, reverse=True)
            groups.append({"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v}
                                                   for v in versions],
                           "preferredVersion": {"groupVersion": "%s/%s" % (g, versions[0]), "version": versions[0]}})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    @staticmethod
    def _resource_list(cluster, group, version):
        resources = []
        for (g, v, _p), rt in sorted(cluster.types.items()):
            if g == group and v == version:
                resources.extend(rt.discovery())
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "%s/%s" % (group, version) if group else version, "resources": resources}

    # ------------------------------------------------------------------ OpenAPI v3 (just enough for kubectl)
    def _openapi(self, cluster, segs):
        """/openapi/v3 index and per group-version documents whose PATCH operations declare the
        ``fieldValidation`` query parameter, so kubectl leaves field validation to this server (as with a
        real one). No component schemas: kubectl then uses its compiled-in patch metadata."""
        if len(segs) < 2 or segs[1] != "v3":
            raise path_not_found()
        with cluster.lock:
            gvs = cluster.group_versions()
            if len(segs) == 2:
                paths = {}
                for g, versions in gvs.items():
                    for v in versions:
                        key = "apis/%s/%s" % (g, v) if g else "api/%s" % v
                        paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, cluster.last_rv)}
                return self._send(200, {"paths": paths})
            rest = segs[2:]
            if rest[0] == "api" and len(rest) == 2:
                group, version = "", rest[1]
            elif rest[0] == "apis" and len(rest) == 3:
                group, version = rest[1], rest[2]
            else:
                raise path_not_found()
            if version not in gvs.get(group, []):
                raise path_not_found()
            params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                      for n in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")]
            paths = {}
            for (g, v, _p), rt in sorted(cluster.types.items()):
                if g != group or v != version:
                    continue
                base = "/apis/%s/%s" % (g, v) if g else "/api/%s" % v
                coll = base + ("/namespaces/{namespace}/" if rt.namespaced else "/") + rt.plural
                gvk = {"group": g, "version": v, "kind": rt.kind}
                paths[coll] = {"post": {"x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk,
                                        "parameters": params}}
                paths[coll + "/{name}"] = {
                    "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk},
                    "put": {"x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk,
                            "parameters": params},
                    "patch": {"x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                              "parameters": params},
                    "delete": {"x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk}}
        doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v%s" % schemas.KUBE_VERSION},
               "paths": paths, "components": {"schemas": {}}}
        return self._send(200, doc)

    # ------------------------------------------------------------------ table output for kubectl get
    def _send_maybe_table(self, rt, result, listing):
        accept = self.headers.get("Accept") or ""
        first = accept.split(",")[0]
        if "as=Table" not in first:
            return self._send(200, result)
        items = result["items"] if listing else [result]
        rows = []
        for it in items:
            meta = it["metadata"]
            rows.append({"cells": [meta["name"], _age(meta.get("creationTimestamp"))],
                         "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                    "metadata": meta}})
        table = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                 "metadata": {"resourceVersion": result["metadata"].get("resourceVersion", "")},
                 "columnDefinitions": [
                     {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique "
                      "within a namespace.", "priority": 0},
                     {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp",
                      "priority": 0}],
                 "rows": rows}
        return self._send(200, table)

    # ------------------------------------------------------------------ scale
    def _scale(self, cluster, rt, ns, name, body, query):
        obj = cluster.get(rt, ns, name)
        if self.command == "GET":
            return self._send(200, _scale_of(obj))
        if self.command in ("PUT", "PATCH"):
            data = self._json(body)
            replicas = (data.get("spec") or {}).get("replicas")
            if replicas is None:
                raise bad_request("spec.replicas is required")
            patch = json.dumps({"spec": {"replicas": replicas}}).encode()
            result, _warnings = cluster.patch(rt, ns, name, patch, "application/merge-patch+json")
            return self._send(200, _scale_of(result))
        raise method_not_allowed()

    # ------------------------------------------------------------------ watch (polling, good enough for clients)
    def _watch(self, cluster, rt, ns, q):
        timeout = min(float(q.get("timeoutSeconds") or 30), 300)
        since = q.get("resourceVersion")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def snapshot():
            lst = cluster.list(rt, ns, q.get("labelSelector"), q.get("fieldSelector"))
            out = {}
            for it in lst["items"]:
                it.setdefault("apiVersion", rt.api_version)
                it.setdefault("kind", rt.kind)
                out[(it["metadata"].get("namespace"), it["metadata"]["name"])] = it
            return out

        def emit(kind, obj):
            line = (json.dumps({"type": kind, "object": obj}) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        try:
            seen = snapshot()
            for it in seen.values():
                if not since or since == "0" or int(it["metadata"]["resourceVersion"]) > int(since):
                    emit("ADDED", it)
            end = time.time() + timeout
            while time.time() < end and not self.server.emulator._stopping.is_set():
                time.sleep(0.1)
                cur = snapshot()
                for k, it in cur.items():
                    if k not in seen:
                        emit("ADDED", it)
                    elif it["metadata"]["resourceVersion"] != seen[k]["metadata"]["resourceVersion"]:
                        emit("MODIFIED", it)
                for k, it in seen.items():
                    if k not in cur:
                        emit("DELETED", it)
                seen = cur
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    # ------------------------------------------------------------------ service proxy
    def _proxy(self, emu, ns, name_port, subpath, trailing, body):
        cluster = emu.cluster
        parts = name_port.split(":")
        scheme = None
        if len(parts) == 3:
            scheme, svc_name, port = parts
        elif len(parts) == 2:
            if parts[0] in ("http", "https"):
                scheme, svc_name, port = parts[0], parts[1], ""
            else:
                svc_name, port = parts
        else:
            svc_name, port = parts[0], ""
        svc_rt = cluster.type_for("v1", "Service")
        svc = cluster.get(svc_rt, ns, svc_name)
        ports = (svc.get("spec") or {}).get("ports") or []
        chosen = None
        for p in ports:
            if port == "" or str(p.get("port")) == port or p.get("name") == port:
                chosen = p
                break
        if chosen is None:
            raise ApiError(503, "ServiceUnavailable", 'no endpoints available for service "%s"' % name_port, {})
        backend = emu._backend_for(ns, svc_name, chosen.get("port"))
        if backend is None or not backend.available():
            raise ApiError(503, "ServiceUnavailable", 'no endpoints available for service "%s"' % name_port, {})
        self._forward(backend.url, scheme, subpath, trailing, body)

    # ------------------------------------------------------------------ pod proxy
    def _pod_proxy(self, emu, ns, name_port, subpath, trailing, body):
        """``/api/v1/namespaces/<ns>/pods/[<scheme>:]<pod>[:<port>]/proxy/...`` as kube-apiserver serves it:
        pkg/registry/core/pod/rest/subresources.go ProxyREST.Connect -> pkg/registry/core/pod/strategy.go
        ResourceLocation (k8s.io/apimachinery/pkg/util/net SplitSchemeNamePort; the pod must exist; no port: the
        first declared container port; the pod IP must be a global unicast address, else 400 "address not
        allowed"), then the upgrade-aware proxy whose transport (k8s.io/apimachinery/pkg/util/proxy/transport.go
        RoundTrip) turns a dial failure into 503 ServiceUnavailable "error trying to reach service: <err>".
        The pod's containers are the backend registered with KubeEmulator.register_pod_backend; none registered
        (or one not listening) is a refused connection to the pod IP, as for a pod whose Qdrant has not started."""
        import ipaddress

        cluster = emu.cluster
        parts = name_port.split(":")
        scheme, name, port = ("", "", "")
        if len(parts) == 1:
            name = parts[0]
        elif len(parts) == 2:
            name, port = parts
        elif len(parts) == 3:
            scheme, name, port = parts
        if not name or scheme not in ("", "http", "https"):
            raise bad_request('invalid pod request "%s"' % name_port)
        pod = cluster.get(cluster.type_for("v1", "Pod"), ns, name)  # 404 'pods "<name>" not found'
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        if port == "":
            for container in spec.get("containers") or []:
                if container.get("ports"):
                    port = str(container["ports"][0].get("containerPort"))
                    break
        ips = [p.get("ip") for p in status.get("podIPs") or []] or [status.get("podIP")]
        try:
            ip = ipaddress.ip_address(ips[0] or "")
            allowed = not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified)
        except ValueError:
            allowed = False
        if not allowed:
            raise bad_request("address not allowed")
        backend = emu._pod_backend_for(ns, name, port)
        if backend is None or not backend.available():
            raise ApiError(503, "ServiceUnavailable", "error trying to reach service: dial tcp %s:%s: connect: "
                           "connection refused" % (ips[0], port or "80"), {})
        self._forward(backend.url, scheme, subpath, trailing, body)

    def _forward(self, url, scheme, subpath, trailing, body):
        """Send the request on to a backend and relay its answer (shared by the service and the pod proxy)."""
        target = urllib.parse.urlsplit(url)
        if scheme and scheme != target.scheme:
            raise ApiError(503, "ServiceUnavailable", "error trying to reach service: %s" % (
                "http: server gave HTTP response to HTTPS client" if scheme == "https" else
                "net/http: HTTP/1.x transport connection broken: malformed HTTP response"), {})
        query = urllib.parse.urlsplit(self.path).query
        upstream = (target.path.rstrip("/") + (subpath if subpath != "/" or trailing else "/")) + \
            ("?" + query if query else "")
        if target.scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(target.hostname, target.port, timeout=60, context=ctx)
        else:
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("authorization", "host", "connection", "content-length",
                                        "transfer-encoding", "accept-encoding")}
        try:
            conn.request(self.command, upstream, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as e:
            raise ApiError(503, "ServiceUnavailable", "error trying to reach service: %s" % e, {})
        finally:
            conn.close()
        out_headers = {k: v for k, v in resp.getheaders()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-type")}
        self._send(resp.status, data, out_headers, content_type=resp.getheader("Content-Type") or "text/plain")


def _scale_of(obj):
    meta = obj["metadata"]
    sel = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta["uid"],
                         "resourceVersion": meta["resourceVersion"],
                         "creationTimestamp": meta.get("creationTimestamp")},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join("%s=%s" % kv for kv in sorted(sel.items()))}}


def _version_priority(v):
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (-1, 0, 0)
    major, stage, minor = m.groups()
    return ({"alpha": 0, "beta": 1, None: 2}[stage], int(major), int(minor or 0))


def _age(ts):
    if not ts:
        return "<unknown>"
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    s = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    if s < 120:
        return "%ds" % s
    if s < 7200:
        return "%dm" % (s // 60)
    return "%dh" % (s // 3600)


def make_server(emulator, host, port):
    srv = _Server((host, port), Handler)
    srv.emulator = emulator
    return srv

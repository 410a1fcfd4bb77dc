"""The emulated cluster state: resource types, objects, admission, a tiny controller manager."""
import copy
import datetime
import hashlib
import itertools
import json
import random
import threading
import uuid

import yaml

from . import defaults, managed, patching, schemas, validation
from .errors import (ApiError, Cause, already_exists, bad_request, conflict, invalid, namespace_not_found,
                     not_found, unsupported_media_type)
from .selectors import (label_selector_matches, match_fields, match_label_requirements, parse_field_selector,
                        parse_label_selector)

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _rand(n=5):
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _i in range(n))


def _stable(v):
    return json.dumps(v, sort_keys=True)


class Cluster:
    def __init__(self, auto_ready=True, default_storage_class="standard", allow_volume_expansion=True,
                 strict_fields=True, namespace_deletion_delay=0.3):
        self.lock = threading.RLock()
        self.namespace_deletion_delay = namespace_deletion_delay
        self.auto_ready = auto_ready
        self.default_storage_class = default_storage_class
        self.strict_fields = strict_fields
        self.types = {}             # (group, version, plural) -> ResourceType
        self.objects = {}           # (group, plural, ns, name) -> dict
        self.applied = {}           # object key -> {manager: apply config}
        self.apply_times = {}       # object key -> {manager: time of its last apply that changed something}
        self.updaters = {}          # object key -> {manager: {"paths": {path: value}, "time": ts}} (operation Update)
        self._rv = itertools.count(1000)
        self._ip = itertools.count(10)
        self._node_port = itertools.count(30000)
        self.last_rv = "1000"
        for rt in schemas.builtin_types():
            self.types[(rt.group, rt.version, rt.plural)] = rt
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.seed(self.type_for("v1", "Namespace"), {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": ns}})
        if default_storage_class:
            self.seed(self.type_for("storage.k8s.io/v1", "StorageClass"), {
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": default_storage_class,
                             "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "rancher.io/local-path", "allowVolumeExpansion": bool(allow_volume_expansion)})

    # ------------------------------------------------------------------ types
    def next_rv(self):
        self.last_rv = str(next(self._rv))
        return self.last_rv

    def type_for(self, api_version, kind):
        group, _sep, version = api_version.rpartition("/")
        for (g, v, _p), rt in self.types.items():
            if g == group and v == version and rt.kind == kind:
                return rt
        return None

    def type_by_path(self, group, version, plural):
        return self.types.get((group, version, plural))

    def group_versions(self):
        out = {}
        for (g, v, _p) in self.types:
            out.setdefault(g, [])
            if v not in out[g]:
                out[g].append(v)
        return out

    def key(self, rt, ns, name):
        return (rt.group, rt.plural, ns if rt.namespaced else "", name)

    def out(self, rt, obj):
        """The object as served through ``rt``'s version, with its metadata.managedFields."""
        o = copy.deepcopy(obj)
        o["apiVersion"] = rt.api_version
        o["kind"] = rt.kind
        meta = o.get("metadata") or {}
        mf = self._managed_fields(rt, self.key(rt, meta.get("namespace"), meta.get("name")))
        if mf:
            meta["managedFields"] = mf
        return o

    # ------------------------------------------------------------------ field ownership (managed.py)
    def _schema(self, rt):
        sname = schemas.def_name_for(rt.group, rt.version, rt.kind)
        return {"$ref": "#/$defs/%s" % sname} if sname else rt.schema

    def _managed_fields(self, rt, key):
        out = []
        schema = None
        for mgr, cfg in (self.applied.get(key) or {}).items():
            schema = schema or self._schema(rt)
            paths = patching.leaf_paths(_apply_body(cfg), schema)
            out.append({"manager": mgr, "operation": "Apply", "apiVersion": rt.api_version,
                        "time": (self.apply_times.get(key) or {}).get(mgr) or now(), "fieldsType": "FieldsV1",
                        "fieldsV1": managed.fields_v1({p: v for p, v in paths.items() if p})})
        for mgr, entry in (self.updaters.get(key) or {}).items():
            out.append({"manager": mgr, "operation": "Update", "apiVersion": rt.api_version, "time": entry["time"],
                        "fieldsType": "FieldsV1", "fieldsV1": managed.fields_v1(entry["paths"])})
        return out

    def _update_paths(self, key):
        """Every path some Update manager owns, with that manager: {path: manager}."""
        owned = {}
        for mgr, entry in (self.updaters.get(key) or {}).items():
            for p in entry["paths"]:
                owned.setdefault(p, mgr)
        return owned

    def _record_update(self, rt, key, old, new, manager):
        """Updater.Update (structured-merge-diff merge/update.go): added/modified fields become ``manager``'s and
        leave the other Update managers; removed fields leave every set."""
        schema = self._schema(rt)
        old_paths = managed.object_paths(old, schema) if old is not None else {}
        new_paths = managed.object_paths(new, schema)
        changed, removed = managed.compare(old_paths, new_paths)
        mgrs = self.updaters.setdefault(key, {})
        for mgr in list(mgrs):
            if mgr == manager:
                continue
            mgrs[mgr]["paths"] = {p: v for p, v in mgrs[mgr]["paths"].items() if p not in changed and p not in removed}
            if not mgrs[mgr]["paths"]:
                del mgrs[mgr]
        if manager is None or not (changed or removed):
            return
        mine = dict((mgrs.get(manager) or {}).get("paths") or {})
        mine.update({p: new_paths[p] for p in changed})
        mine = {p: v for p, v in mine.items() if p not in removed}
        if mine:
            mgrs[manager] = {"paths": mine, "time": now()}
        else:
            mgrs.pop(manager, None)

    def _forget(self, key):
        self.applied.pop(key, None)
        self.apply_times.pop(key, None)
        self.updaters.pop(key, None)

    # ------------------------------------------------------------------ reads
    def get(self, rt, ns, name):
        with self.lock:
            obj = self.objects.get(self.key(rt, ns, name))
            if obj is None:
                raise not_found(rt, name)
            return self.out(rt, obj)

    def list(self, rt, ns=None, label_selector=None, field_selector=None):
        with self.lock:
            lreq = parse_label_selector(label_selector) if label_selector else []
            freq = parse_field_selector(field_selector, rt.kind, rt.api_version) if field_selector else []
            items = []
            for (g, p, ons, _n), obj in sorted(self.objects.items()):
                if g != rt.group or p != rt.plural:
                    continue
                if ns and rt.namespaced and ons != ns:
                    continue
                if lreq and not match_label_requirements(lreq, obj["metadata"].get("labels")):
                    continue
                if freq and not match_fields(freq, obj):
                    continue
                o = self.out(rt, obj)
                if not rt.crd:
                    o.pop("apiVersion", None)
                    o.pop("kind", None)
                items.append(o)
            return {"kind": rt.kind + "List", "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": self.last_rv}, "items": items}

    # ------------------------------------------------------------------ writes
    def seed(self, rt, obj):
        """Store an object bypassing admission (used to seed clusters); returns the stored object."""
        with self.lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            ns = meta.get("namespace") if rt.namespaced else None
            if not rt.namespaced:
                meta.pop("namespace", None)
            defaults.apply_defaults(rt.kind, obj, self.default_storage_class)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now())
            if rt.has_generation:
                meta.setdefault("generation", 1)
            if rt.kind == "Namespace":
                obj.setdefault("status", {"phase": "Active"})
            meta["resourceVersion"] = self.next_rv()
            self.objects[self.key(rt, ns, meta["name"])] = obj
            if rt.kind == "CustomResourceDefinition":
                self._register_crd(obj)
            self._reconcile(rt, ns, meta["name"])
            return self.out(rt, obj)

    def _check_namespace(self, rt, ns, creating=False, name=None):
        if rt.namespaced:
            if not ns:
                raise bad_request("the server could not find the requested resource")
            nso = self.objects.get(("", "namespaces", "", ns))
            if nso is None:
                raise namespace_not_found(ns)
            if creating and nso["metadata"].get("deletionTimestamp"):
                raise ApiError(403, "Forbidden", '%s "%s" is forbidden: unable to create new content in namespace %s '
                               "because it is being terminated" % (rt.group_resource, name or "", ns),
                               {"name": name or "", "group": rt.group, "kind": rt.plural,
                                "causes": [{"reason": "NamespaceTerminating", "message": "namespace %s is being "
                                            "terminated" % ns, "field": "metadata.namespace"}]})

    def _check_identity(self, rt, ns, name, obj, creating=False):
        if not isinstance(obj, dict):
            raise bad_request("Object 'Kind' is missing in '%s'" % json.dumps(obj))
        if not obj.get("kind"):
            raise bad_request("Object 'Kind' is missing in '%s'" % json.dumps(obj, separators=(",", ":")))
        if obj.get("apiVersion") != rt.api_version or obj.get("kind") != rt.kind:
            raise bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                              % (obj.get("apiVersion"), rt.api_version)
                              if obj.get("kind") == rt.kind else
                              "%s in version \"%s\" cannot be handled as a %s: no kind \"%s\" is registered for "
                              "version \"%s\"" % (rt.kind, rt.version, rt.kind, obj.get("kind"), rt.api_version))
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("%s in version \"%s\" cannot be handled as a %s: json: cannot unmarshal into Go "
                              "struct field .metadata of type v1.ObjectMeta" % (rt.kind, rt.version, rt.kind))
        if rt.namespaced:
            if meta.get("namespace") and ns and meta["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            if ns:
                meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if name is not None and meta.get("name") and meta["name"] != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                              % (meta["name"], name))
        if name is not None and not meta.get("name"):
            meta["name"] = name

    def _admit(self, rt, obj, old, field_validation, subresource=None):
        """Validation, defaulting, system metadata; returns (new_obj, warnings)."""
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        if rt.kind == "Secret":
            sd = obj.pop("stringData", None)
            if sd:
                import base64
                data = obj.get("data") or {}
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
                obj["data"] = data
        # status handling
        if subresource == "status":
            base = copy.deepcopy(old)
            base["status"] = obj.get("status")
            base["metadata"] = copy.deepcopy(old["metadata"])
            for k in ("labels", "annotations"):
                if k in meta:
                    base["metadata"][k] = meta[k]
            obj = base
            meta = obj["metadata"]
        elif rt.status_subresource:
            if old is not None:
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
                else:
                    obj.pop("status", None)
            else:
                obj.pop("status", None)
                init = {"Deployment": {}, "StatefulSet": {"replicas": 0, "availableReplicas": 0},
                        "PersistentVolumeClaim": {"phase": "Pending"}, "Service": {"loadBalancer": {}},
                        "Namespace": {"phase": "Active"}, "PodDisruptionBudget": {
                            "currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0,
                            "expectedPods": 0}, "Pod": {"phase": "Pending"}}.get(rt.kind)
                if init is not None:
                    obj["status"] = copy.deepcopy(init)
        obj = validation.strip_nulls(obj)
        meta = obj["metadata"]
        # system metadata
        for f in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "selfLink"):
            meta.pop(f, None)
        meta.pop("managedFields", None)
        if old is not None:
            for f in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if f in old["metadata"]:
                    meta[f] = old["metadata"][f]
        fv = field_validation or ("Strict" if self.strict_fields else "Warn")
        if fv not in ("Strict", "Warn", "Ignore"):
            raise bad_request('fieldValidation: Unsupported value: "%s": supported values: "Ignore", "Strict", '
                              '"Warn"' % fv)
        if rt.crd:
            defaults.crd_schema_defaults(obj, rt.schema)
            obj, warnings = validation.validate_custom(rt, obj, fv)
        else:
            obj, warnings = validation.validate_builtin_schema(rt, obj, fv)
            defaults.apply_defaults(rt.kind, obj, self.default_storage_class)
            validation.validate_semantics(rt, obj, self._selector_causes(rt, obj, old))
        if rt.kind == "Service":
            self._service_ips(obj, old)
        if rt.kind == "CustomResourceDefinition":
            self._validate_crd(rt, obj, old)
        if old is not None:
            self._check_immutable(rt, obj, old)
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            if rt.has_generation:
                meta["generation"] = 1
        elif rt.has_generation:
            before = _spec_part(old)
            after = _spec_part(obj)
            if rt.crd and not rt.status_subresource:
                before["status"] = old.get("status")
                after["status"] = obj.get("status")
            if _stable(before) != _stable(after):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
        return obj, warnings

    def _service_ips(self, obj, old):
        spec = obj.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return
        ospec = (old or {}).get("spec") or {}
        if not spec.get("clusterIP"):
            if ospec.get("clusterIP"):
                spec["clusterIP"] = ospec["clusterIP"]
                spec["clusterIPs"] = ospec.get("clusterIPs", [ospec["clusterIP"]])
            else:
                spec["clusterIP"] = "10.96.%d.%d" % divmod(next(self._ip), 250)
        if not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        if old is not None and ospec.get("clusterIP") and spec["clusterIP"] != ospec["clusterIP"]:
            raise invalid(self.type_for("v1", "Service"), obj["metadata"]["name"], [
                Cause("spec.clusterIPs[0]", "Invalid value", "may not change once set", None, False)._with_value(
                    '[]string{"%s"}' % spec["clusterIP"])])
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            oports = {(p.get("port"), p.get("protocol")): p for p in ospec.get("ports") or []}
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    prev = oports.get((p.get("port"), p.get("protocol")), {}).get("nodePort")
                    p["nodePort"] = prev or next(self._node_port)

    def _selector_causes(self, rt, obj, old):
        """The selector of an apps/v1 Deployment, ReplicaSet or DaemonSet never changes: ValidateUpdate of
        pkg/registry/apps/{deployment,replicaset,daemonset}/strategy.go appends ValidateImmutableField(spec.selector)
        after ValidateDeploymentUpdate's own errors (pkg/apis/apps/validation/validation.go), so one 422 names both."""
        if old is None or rt.kind not in ("Deployment", "ReplicaSet", "DaemonSet"):
            return []
        spec, ospec = obj.get("spec") or {}, old.get("spec") or {}
        if _stable(spec.get("selector")) != _stable(ospec.get("selector")):
            return [Cause("spec.selector", "Invalid value", "field is immutable")._with_value(
                _go_selector(spec.get("selector")))]
        return []

    def _check_immutable(self, rt, obj, old):
        name = obj["metadata"]["name"]
        spec, ospec = obj.get("spec") or {}, old.get("spec") or {}
        if rt.kind == "StatefulSet":
            allowed = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                       "minReadySeconds")
            a = {k: v for k, v in spec.items() if k not in allowed}
            b = {k: v for k, v in ospec.items() if k not in allowed}
            if _stable(a) != _stable(b):
                raise invalid(rt, name, [Cause("spec", "Forbidden",
                                               "updates to statefulset spec for fields other than 'replicas', "
                                               "'ordinals', 'template', 'updateStrategy', "
                                               "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                                               "forbidden")])
        if rt.kind == "PersistentVolumeClaim":
            self._check_pvc_update(rt, obj, old)
        if rt.kind in ("Secret", "ConfigMap"):
            if old.get("immutable"):
                for sect in ("data", "binaryData"):
                    if _stable(obj.get(sect)) != _stable(old.get(sect)):
                        raise invalid(rt, name, [Cause(sect, "Forbidden",
                                                       "field is immutable when `immutable` is set")])
                if not obj.get("immutable"):
                    raise invalid(rt, name, [Cause("immutable", "Forbidden",
                                                   "field is immutable when `immutable` is set")])
            if rt.kind == "Secret" and obj.get("type") != old.get("type"):
                raise invalid(rt, name, [Cause("type", "Invalid value", "field is immutable", obj.get("type"), True)])

    def _check_pvc_update(self, rt, obj, old):
        name = obj["metadata"]["name"]
        spec, ospec = copy.deepcopy(obj.get("spec") or {}), copy.deepcopy(old.get("spec") or {})
        bound = (old.get("status") or {}).get("phase") == "Bound"
        if not spec.get("volumeName") and ospec.get("volumeName"):
            spec["volumeName"] = ospec["volumeName"]
            obj["spec"]["volumeName"] = ospec["volumeName"]
        new_req = ((spec.get("resources") or {}).get("requests") or {})
        old_req = ((ospec.get("resources") or {}).get("requests") or {})
        for s in (spec, ospec):
            s.get("resources", {}).pop("requests", None)
            s.pop("volumeAttributesClassName", None)
        if not ospec.get("volumeName"):
            spec.pop("volumeName", None)
            ospec.pop("volumeName", None)
        if _stable(spec) != _stable(ospec) or (not bound and _stable(new_req) != _stable(old_req)):
            raise invalid(rt, name, [Cause("spec", "Forbidden",
                                           "spec is immutable after creation except resources.requests and "
                                           "volumeAttributesClassName for bound claims")])
        if "storage" in new_req and "storage" in old_req:
            n = validation.parse_quantity(new_req["storage"])
            o = validation.parse_quantity(old_req["storage"])
            if n < o:
                raise invalid(rt, name, [Cause("spec.resources.requests.storage", "Forbidden",
                                               "field can not be less than previous value")])
            if n > o:
                sc_name = ospec.get("storageClassName")
                sc = self.objects.get(("storage.k8s.io", "storageclasses", "", sc_name)) if sc_name else None
                if sc is None or not sc.get("allowVolumeExpansion"):
                    raise ApiError(403, "Forbidden",
                                   'persistentvolumeclaims "%s" is forbidden: only dynamically provisioned pvc can '
                                   "be resized and the storageclass that provisions the pvc must support resize"
                                   % name, {"name": name, "kind": "persistentvolumeclaims"})

    def _store(self, rt, obj, old, dry_run):
        meta = obj["metadata"]
        if old is not None and _stable(_strip_rv(obj)) == _stable(_strip_rv(old)):
            return self.out(rt, old)          # no-op: nothing changes, resourceVersion stays
        if dry_run:
            meta["resourceVersion"] = old["metadata"]["resourceVersion"] if old else None
            if meta["resourceVersion"] is None:
                meta.pop("resourceVersion")
            return self.out(rt, obj)
        meta["resourceVersion"] = self.next_rv()
        ns = meta.get("namespace")
        self.objects[self.key(rt, ns, meta["name"])] = obj
        if rt.kind == "CustomResourceDefinition":
            self._register_crd(obj)
        result = self.out(rt, obj)
        self._reconcile(rt, ns, meta["name"])
        return result

    def create(self, rt, ns, body, dry_run=False, field_validation=None, field_manager=None):
        with self.lock:
            self._check_identity(rt, ns, None, body, creating=True)
            meta = body["metadata"]
            self._check_namespace(rt, ns)
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + _rand()
                else:
                    raise invalid(rt, "", [Cause("metadata.name", "Required value",
                                                 "name or generateName is required")])
            meta.pop("resourceVersion", None)
            self._check_namespace(rt, ns, creating=True, name=meta["name"])
            if self.key(rt, ns, meta["name"]) in self.objects:
                raise already_exists(rt, meta["name"])
            obj, warnings = self._admit(rt, body, None, field_validation)
            result = self._store(rt, obj, None, dry_run)
            if not dry_run:
                key = self.key(rt, ns, meta["name"])
                self._record_update(rt, key, None, obj, field_manager or "unknown")
                result["metadata"]["managedFields"] = self._managed_fields(rt, key)
            return result, warnings

    def update(self, rt, ns, name, body, dry_run=False, field_validation=None, subresource=None,
               field_manager=None):
        with self.lock:
            self._check_identity(rt, ns, name, body)
            old = self.objects.get(self.key(rt, ns, name))
            if old is None:
                if subresource:
                    raise not_found(rt, name)
                self._check_namespace(rt, ns)
                return self.create(rt, ns, body, dry_run, field_validation,   # PUT creates (AllowCreateOnUpdate)
                                   field_manager=field_manager)
            rv = body["metadata"].get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(rt, name)
            obj, warnings = self._admit(rt, body, old, field_validation, subresource)
            return self._stored_update(rt, ns, name, obj, old, dry_run, field_manager, subresource), warnings

    def _stored_update(self, rt, ns, name, obj, old, dry_run, field_manager, subresource):
        result = self._store(rt, obj, old, dry_run)
        if not dry_run and subresource != "status":
            key = self.key(rt, ns, name)
            self._record_update(rt, key, old, obj, field_manager or "unknown")
            mf = self._managed_fields(rt, key)
            if mf:
                result["metadata"]["managedFields"] = mf
        return result

    def patch(self, rt, ns, name, raw, content_type, dry_run=False, field_validation=None, field_manager=None,
              force=False, subresource=None):
        with self.lock:
            ct = (content_type or "").split(";")[0].strip()
            accepted = [JSONPATCH, MERGE, APPLY] if rt.crd else [JSONPATCH, MERGE, STRATEGIC, APPLY]
            if ct not in accepted:
                raise unsupported_media_type(ct, accepted)
            key = self.key(rt, ns, name)
            old = self.objects.get(key)
            if ct == APPLY:
                return self._apply(rt, ns, name, raw, old, dry_run, field_validation, field_manager, force,
                                   subresource)
            if old is None:
                raise not_found(rt, name)
            try:
                patch = json.loads(raw or b"null")
            except ValueError as e:
                raise bad_request("error decoding patch: %s" % e)
            current = self.out(rt, old)
            if ct == MERGE:
                if not isinstance(patch, dict):
                    raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
                new = patching.merge_patch(current, patch)
            elif ct == STRATEGIC:
                if not isinstance(patch, dict):
                    raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
                sname = schemas.def_name_for(rt.group, rt.version, rt.kind)
                new = patching.strategic_merge(current, patch, {"$ref": "#/$defs/%s" % sname} if sname else None)
            else:
                new = patching.json_patch(current, patch)
            if not isinstance(new, dict):
                raise bad_request("patch produced a non-object")
            new_meta = new.get("metadata") or {}
            if new_meta.get("resourceVersion") and new_meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(rt, name)
            if new_meta.get("name") != name:
                raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (new_meta.get("name"), name))
            self._check_identity(rt, ns, name, new)
            obj, warnings = self._admit(rt, new, old, field_validation, subresource)
            return self._stored_update(rt, ns, name, obj, old, dry_run, field_manager, subresource), warnings

    def _apply(self, rt, ns, name, raw, old, dry_run, field_validation, field_manager, force, subresource):
        if not field_manager:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                           "is required for apply patch",
                           {"group": "meta.k8s.io", "kind": "PatchOptions",
                            "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required "
                                        "for apply patch", "field": "fieldManager"}]})
        try:
            config = yaml.safe_load(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        except yaml.YAMLError as e:
            raise bad_request("error decoding YAML: %s" % e)
        if not isinstance(config, dict):
            raise bad_request("invalid object: expected an object")
        if not config.get("apiVersion") or not config.get("kind"):
            raise bad_request("invalid object type: /, Kind=" if not config.get("kind") else
                              "invalid object type: %s" % config.get("kind"))
        self._check_identity(rt, ns, name, config)
        config = validation.strip_nulls(config)
        sname = schemas.def_name_for(rt.group, rt.version, rt.kind)
        schema = {"$ref": "#/$defs/%s" % sname} if sname else rt.schema
        key = self.key(rt, ns, name)
        managers = self.applied.get(key, {}) if old is not None else {}
        new_paths = patching.leaf_paths(_apply_body(config), schema)
        # conflicts with other appliers owning the same field with another value
        if old is not None and not force:
            conflicts = []
            for mgr, cfg in managers.items():
                if mgr == field_manager:
                    continue
                theirs = patching.leaf_paths(_apply_body(cfg), schema)
                for p, v in new_paths.items():
                    if p in theirs and v != "__list__" and _stable(theirs[p]) != _stable(v):
                        conflicts.append((mgr, p))
            # Update managers (client-side apply, PUT, patch) conflict too, where the apply changes their value.
            live_paths = managed.object_paths(old, schema)
            for p, mgr in self._update_paths(key).items():
                v = new_paths.get(p)
                if mgr != field_manager and v is not None and v != "__list__" and p in live_paths and \
                        _stable(live_paths[p]) != _stable(v):
                    conflicts.append((mgr, p))
            if conflicts:
                raise _apply_conflict(conflicts, rt)
        if old is None:
            self._check_namespace(rt, ns, creating=True, name=name)
            base = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": name}}
            if rt.namespaced:
                base["metadata"]["namespace"] = ns
            merged = patching.apply_merge(base, config, schema)
            merged["metadata"].pop("resourceVersion", None)
        else:
            rv = (config.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(rt, name)
            merged = patching.apply_merge(self.out(rt, old), config, schema)
            prev = managers.get(field_manager)
            if prev is not None:
                others = {}
                for mgr, cfg in managers.items():
                    if mgr != field_manager:
                        others.update(patching.leaf_paths(_apply_body(cfg), schema))
                # fields an Update manager also owns stay when this applier drops them
                others.update({p: True for p in self._update_paths(key)})
                prev_paths = patching.leaf_paths(_apply_body(prev), schema)
                # A list-map item this manager applied before and applies no more goes as a whole, key
                # fields included, like the real server (it owned the item, not only its leaves).
                kept = _prefixes(new_paths) | _prefixes(others)
                removed_items = []
                for p in prev_paths:
                    item = _dropped_item(p, kept, removed_items)
                    if item:
                        removed_items.append(item)
                        patching.remove_path(merged, item, schema)
                        patching.prune_empty(merged, item[:-1])
                for p in prev_paths:
                    if p not in new_paths and p not in others and not any(
                            q[:len(p)] == p for q in new_paths) and not _ancestor_removed(p, removed_items):
                        patching.remove_path(merged, p, schema)
                        patching.prune_empty(merged, p)
        obj, warnings = self._admit(rt, merged, old, field_validation, subresource)
        if old is None and self.key(rt, ns, name) in self.objects:
            raise already_exists(rt, name)
        result = self._store(rt, obj, old, dry_run)
        if not dry_run:
            if _stable(self.applied.get(key, {}).get(field_manager)) != _stable(config) or old is None or \
                    _stable(_strip_rv(obj)) != _stable(_strip_rv(old)):
                self.apply_times.setdefault(key, {})[field_manager] = now()
            self.applied.setdefault(key, {})[field_manager] = config
            # the fields this apply changed leave the Update managers (forced conflicts; Updater.Apply)
            self._record_update(rt, key, old, obj, None)
            result["metadata"]["managedFields"] = self._managed_fields(rt, key)
        return result, warnings

    def delete(self, rt, ns, name, dry_run=False, propagation=None, preconditions=None):
        with self.lock:
            key = self.key(rt, ns, name)
            old = self.objects.get(key)
            if old is None:
                raise not_found(rt, name)
            if propagation not in (None, "", "Orphan", "Background", "Foreground"):
                raise invalid(rt, name, [Cause("propagationPolicy", "Unsupported value",
                                               'supported values: "Foreground", "Background", "Orphan", "nil"',
                                               propagation, True)])
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise conflict(rt, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (pre["uid"], old["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(rt, name, "Precondition failed: ResourceVersion in precondition: %s, "
                               "ResourceVersion in object meta: %s" % (pre["resourceVersion"],
                                                                       old["metadata"]["resourceVersion"]))
            result = self.out(rt, old)
            if dry_run:
                return self._delete_response(rt, result)
            if rt.kind == "Namespace":
                # like the namespace controller: Terminating first, contents and namespace go shortly after
                if old["metadata"].get("deletionTimestamp"):
                    return self.out(rt, old)
                old["metadata"]["deletionTimestamp"] = now()
                old["metadata"]["deletionGracePeriodSeconds"] = 0
                old["status"] = {"phase": "Terminating"}
                old["metadata"]["resourceVersion"] = self.next_rv()
                if self.namespace_deletion_delay and self.namespace_deletion_delay > 0:
                    t = threading.Timer(self.namespace_deletion_delay, self._finish_namespace, (name,))
                    t.daemon = True
                    t.start()
                else:
                    self._finish_namespace(name)
                return self.out(rt, old)
            del self.objects[key]
            self._forget(key)
            if rt.kind == "CustomResourceDefinition":
                self._unregister_crd(old)
                result["metadata"]["deletionTimestamp"] = now()
                self.next_rv()
            else:
                self.next_rv()
                if rt.kind in ("Deployment", "StatefulSet", "ReplicaSet") and propagation != "Orphan":
                    self._delete_owned_pods(ns, old["metadata"]["uid"])
            return self._delete_response(rt, result)

    def _finish_namespace(self, name):
        with self.lock:
            for k in [k for k in self.objects if k[2] == name or k == ("", "namespaces", "", name)]:
                del self.objects[k]
                self._forget(k)
            self.next_rv()

    def _delete_response(self, rt, obj):
        if rt.crd or rt.kind in ("Service", "Pod", "Namespace", "CustomResourceDefinition", "PersistentVolumeClaim"):
            return obj
        details = {"name": obj["metadata"]["name"]}
        if rt.group:
            details["group"] = rt.group
        details["kind"] = rt.plural
        details["uid"] = obj["metadata"]["uid"]
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def delete_collection(self, rt, ns, label_selector=None, field_selector=None, dry_run=False):
        with self.lock:
            lst = self.list(rt, ns, label_selector, field_selector)
            items = []
            for it in lst["items"]:
                m = it["metadata"]
                self.delete(rt, m.get("namespace"), m["name"], dry_run=dry_run)
                items.append(self.out(rt, it))
            lst["items"] = items
            return lst

    # ------------------------------------------------------------------ CRDs
    def _validate_crd(self, rt, obj, old):
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        name = obj["metadata"]["name"]
        causes = []
        if name != "%s.%s" % (names.get("plural"), spec.get("group")):
            causes.append(Cause("metadata.name", "Invalid value", 'must be spec.names.plural+"."+spec.group',
                                name, True))
        versions = spec.get("versions") or []
        if not versions:
            causes.append(Cause("spec.versions", "Invalid value", "must have exactly one version marked as storage "
                                "version", [], True))
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(Cause("spec.versions", "Invalid value", "must have exactly one version marked as storage "
                                "version", versions, True))
        if old is not None:
            if _stable((old.get("spec") or {}).get("group")) != _stable(spec.get("group")):
                causes.append(Cause("spec.group", "Invalid value", "field is immutable", spec.get("group"), True))
            if (old.get("spec") or {}).get("scope") != spec.get("scope"):
                causes.append(Cause("spec.scope", "Invalid value", "field is immutable", spec.get("scope"), True))
        if causes:
            raise invalid(rt, name, causes)
        storage = [v["name"] for v in versions if v.get("storage")]
        obj["status"] = {
            "acceptedNames": dict(names),
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now()},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now()}],
            "storedVersions": sorted(set(((old or {}).get("status") or {}).get("storedVersions", []) + storage)),
        }
        if old is not None and _stable(old.get("spec")) == _stable(obj.get("spec")):
            obj["status"] = old.get("status")

    def _register_crd(self, crd):
        self._unregister_crd(crd, keep_objects=True)
        spec = crd["spec"]
        names = spec["names"]
        for v in spec.get("versions") or []:
            if not v.get("served"):
                continue
            subs = v.get("subresources") or {}
            rt = schemas.ResourceType(
                spec["group"], v["name"], names["kind"], names["plural"], spec.get("scope") == "Namespaced",
                names.get("shortNames") or [], [s for s in ("status", "scale") if s in subs],
                has_generation=True, status_subresource="status" in subs, crd=crd["metadata"]["name"],
                schema=(v.get("schema") or {}).get("openAPIV3Schema") or {"type": "object",
                                                                          "x-kubernetes-preserve-unknown-fields": True},
                singular=names.get("singular"), categories=names.get("categories") or [])
            self.types[(rt.group, rt.version, rt.plural)] = rt

    def _unregister_crd(self, crd, keep_objects=False):
        name = crd["metadata"]["name"]
        for k in [k for k, rt in self.types.items() if rt.crd == name]:
            del self.types[k]
        if not keep_objects:
            spec = crd["spec"]
            for k in [k for k in self.objects if k[0] == spec["group"] and k[1] == spec["names"]["plural"]]:
                del self.objects[k]
                self._forget(k)

    # ------------------------------------------------------------------ controller
    def set_status(self, rt, ns, name, status, merge=True):
        with self.lock:
            obj = self.objects.get(self.key(rt, ns, name))
            if obj is None:
                raise not_found(rt, name)
            new = patching.merge_patch(obj.get("status") or {}, status) if merge else copy.deepcopy(status)
            if _stable(new) != _stable(obj.get("status")):
                obj["status"] = new
                obj["metadata"]["resourceVersion"] = self.next_rv()
            return self.out(rt, obj)

    def mark_ready(self, rt, ns, name):
        with self.lock:
            obj = self.objects.get(self.key(rt, ns, name))
            if obj is None:
                raise not_found(rt, name)
            self._make_ready(rt, obj)
            return self.out(rt, obj)

    def _reconcile(self, rt, ns, name):
        if not self.auto_ready:
            return
        obj = self.objects.get(self.key(rt, ns, name))
        if obj is not None and rt.kind in ("Deployment", "StatefulSet", "PersistentVolumeClaim", "ReplicaSet"):
            self._make_ready(rt, obj)
        elif obj is not None and rt.crd and rt.group == "gateway.networking.k8s.io" and rt.kind in (
                "HTTPRoute", "GRPCRoute"):
            self._accept_route(rt, obj)

    # The Gateway controller of every parent: it accepts the route for each parentRef (Gateway API
    # RouteParentStatus: status.parents[] with parentRef, controllerName and conditions Accepted / ResolvedRefs,
    # as conformant implementations write them). No Gateway objects are modelled: every parent accepts.
    ROUTE_CONTROLLER = "emulator.local/gateway-controller"

    def _accept_route(self, rt, obj):
        gen = obj["metadata"].get("generation", 1)
        old = {_stable(p.get("parentRef")): p for p in (obj.get("status") or {}).get("parents") or []}
        parents = []
        for ref in (obj.get("spec") or {}).get("parentRefs") or []:
            ref = dict(ref)
            ref.setdefault("group", "gateway.networking.k8s.io")
            ref.setdefault("kind", "Gateway")
            prev = {c.get("type"): c for c in (old.get(_stable(ref)) or {}).get("conditions") or []}
            conds = []
            for ctype, reason, msg in (("Accepted", "Accepted", "Route is accepted"),
                                       ("ResolvedRefs", "ResolvedRefs", "Resolved all the Object references")):
                p = prev.get(ctype) or {}
                conds.append({"type": ctype, "status": "True", "reason": reason, "message": msg,
                              "observedGeneration": gen,
                              "lastTransitionTime": p.get("lastTransitionTime") or now()})
            parents.append({"parentRef": ref, "controllerName": self.ROUTE_CONTROLLER, "conditions": conds})
        self._set_status_internal(rt, obj, {"parents": parents})

    def _make_ready(self, rt, obj):
        spec = obj.get("spec") or {}
        meta = obj["metadata"]
        if rt.kind in ("Deployment", "ReplicaSet"):
            r = spec.get("replicas", 1)
            st = {"observedGeneration": meta.get("generation", 1)}
            if r:
                st.update(replicas=r, updatedReplicas=r, readyReplicas=r, availableReplicas=r)
            if rt.kind == "Deployment":
                old_conds = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
                ts = now()
                st["conditions"] = [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability.",
                     "lastUpdateTime": old_conds.get("Available", {}).get("lastUpdateTime", ts),
                     "lastTransitionTime": old_conds.get("Available", {}).get("lastTransitionTime", ts)},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": 'ReplicaSet "%s-%s" has successfully progressed.' % (meta["name"],
                                                                                     self._pod_hash(obj)),
                     "lastUpdateTime": ts,
                     "lastTransitionTime": old_conds.get("Progressing", {}).get("lastTransitionTime", ts)}]
            self._set_status_internal(rt, obj, st)
            self._sync_pods(obj, r)
        elif rt.kind == "StatefulSet":
            r = spec.get("replicas", 1)
            rev = "%s-%s" % (meta["name"], self._pod_hash(obj))
            st = {"observedGeneration": meta.get("generation", 1), "replicas": r, "availableReplicas": r,
                  "currentRevision": rev, "updateRevision": rev, "collisionCount": 0}
            if r:
                st.update(readyReplicas=r, currentReplicas=r, updatedReplicas=r)
            self._set_status_internal(rt, obj, st)
            self._sync_pods(obj, r, stateful=True)
        elif rt.kind == "PersistentVolumeClaim":
            storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
            if not spec.get("volumeName"):
                spec["volumeName"] = "pvc-" + meta["uid"]
                ann = meta.setdefault("annotations", {})
                ann.setdefault("pv.kubernetes.io/bind-completed", "yes")
                ann.setdefault("pv.kubernetes.io/bound-by-controller", "yes")
                if spec.get("storageClassName"):
                    ann.setdefault("volume.beta.kubernetes.io/storage-provisioner", "rancher.io/local-path")
                    ann.setdefault("volume.kubernetes.io/storage-provisioner", "rancher.io/local-path")
                meta["resourceVersion"] = self.next_rv()
            st = {"phase": "Bound", "accessModes": spec.get("accessModes") or [], "capacity": {"storage": storage}}
            self._set_status_internal(rt, obj, st)

    def _set_status_internal(self, rt, obj, status):
        if _stable(obj.get("status")) != _stable(status):
            obj["status"] = status
            obj["metadata"]["resourceVersion"] = self.next_rv()

    def _pod_hash(self, obj):
        tpl = (obj.get("spec") or {}).get("template")
        return hashlib.sha256(_stable(tpl).encode()).hexdigest()[:10].translate(
            str.maketrans("0123456789abcdef", "bcdfghjklmnpqrst"))

    def _delete_owned_pods(self, ns, uid):
        for k in [k for k, o in self.objects.items() if k[1] == "pods" and k[2] == ns and any(
                ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])]:
            del self.objects[k]

    def _sync_pods(self, owner, replicas, stateful=False):
        meta = owner["metadata"]
        ns = meta.get("namespace")
        tpl = (owner.get("spec") or {}).get("template") or {}
        h = self._pod_hash(owner)
        existing = [o for k, o in self.objects.items() if k[1] == "pods" and k[2] == ns and any(
            ref.get("uid") == meta["uid"] for ref in o["metadata"].get("ownerReferences") or [])]
        if len(existing) == replicas and all(
                o["metadata"].get("labels", {}).get("pod-template-hash", h) == h and
                o["metadata"].get("labels", {}).get("controller-revision-hash", "%s-%s" % (meta["name"], h)) ==
                "%s-%s" % (meta["name"], h) for o in existing):
            return
        self._delete_owned_pods(ns, meta["uid"])
        rt = self.type_for("v1", "Pod")
        for i in range(replicas):
            labels = dict((tpl.get("metadata") or {}).get("labels") or {})
            if stateful:
                name = "%s-%d" % (meta["name"], i)
                labels["controller-revision-hash"] = "%s-%s" % (meta["name"], h)
                labels["statefulset.kubernetes.io/pod-name"] = name
            else:
                name = "%s-%s-%s" % (meta["name"], h, _rand())
                labels["pod-template-hash"] = h
            pod_spec = copy.deepcopy(tpl.get("spec") or {})
            defaults.pod_spec(pod_spec)
            pod_spec.setdefault("enableServiceLinks", True)
            pod_spec["nodeName"] = "emulated-node"
            ts = now()
            containers = pod_spec.get("containers") or []
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": ns, "labels": labels,
                                "annotations": dict((tpl.get("metadata") or {}).get("annotations") or {}),
                                "uid": str(uuid.uuid4()), "creationTimestamp": ts,
                                "ownerReferences": [{"apiVersion": owner.get("apiVersion", "apps/v1"),
                                                     "kind": "StatefulSet" if stateful else "ReplicaSet",
                                                     "name": meta["name"] if stateful else "%s-%s" % (meta["name"], h),
                                                     "uid": meta["uid"], "controller": True,
                                                     "blockOwnerDeletion": True}],
                                "resourceVersion": self.next_rv()},
                   "spec": pod_spec,
                   "status": {"phase": "Running", "podIP": "10.244.0.%d" % (i + 10), "hostIP": "172.18.0.2",
                              "startTime": ts, "qosClass": "BestEffort",
                              "conditions": [{"type": t, "status": "True", "lastTransitionTime": ts,
                                              "lastProbeTime": None}
                                             for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                                                       "ContainersReady", "PodScheduled")],
                              "containerStatuses": [{"name": c.get("name"), "image": c.get("image"),
                                                     "imageID": "", "ready": True, "started": True,
                                                     "restartCount": 0, "containerID": "containerd://" + _rand(12),
                                                     "state": {"running": {"startedAt": ts}}}
                                                    for c in containers]}}
            self.objects[self.key(rt, ns, name)] = pod

    # ------------------------------------------------------------------ endpoints
    def service_has_endpoints(self, ns, service):
        """True when some Running+Ready pod matches the Service's selector (like the Endpoints controller)."""
        with self.lock:
            svc = self.objects.get(("", "services", ns, service))
            if svc is None:
                return False
            sel = (svc.get("spec") or {}).get("selector")
            if not sel:
                return False
            for k, o in self.objects.items():
                if k[1] == "pods" and k[2] == ns and label_selector_matches({"matchLabels": sel},
                                                                            o["metadata"].get("labels")):
                    conds = {c["type"]: c["status"] for c in (o.get("status") or {}).get("conditions") or []}
                    if conds.get("Ready") == "True":
                        return True
            return False


def _strip_rv(obj):
    o = copy.deepcopy(obj)
    o.get("metadata", {}).pop("resourceVersion", None)
    return o


def _apply_body(cfg):
    """The part of an apply configuration that owns fields (apiVersion/kind/name/namespace are identity)."""
    out = {k: v for k, v in cfg.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (cfg.get("metadata") or {}).items() if k not in ("name", "namespace",
                                                                              "resourceVersion")}
    if meta:
        out["metadata"] = meta
    else:
        out.pop("metadata", None)
    return out


def _prefixes(paths):
    """Every prefix of every path (a field is kept when some kept path runs through it)."""
    return {q[:i] for q in paths for i in range(len(q) + 1)}


def _dropped_item(path, kept, removed_items):
    """The outermost list-map item on ``path`` that no kept path runs through, if any and not yet removed."""
    for i, step in enumerate(path):
        if isinstance(step, tuple) and step[0] == "k":
            item = path[:i + 1]
            if any(item[:len(r)] == r for r in removed_items):
                return None
            if item not in kept:
                return item
    return None


def _ancestor_removed(path, removed_items):
    """True when ``path`` lies inside a list-map item that was removed as a whole."""
    return any(path[:len(r)] == r for r in removed_items)


def _apply_conflict(conflicts, rt):
    by_mgr = {}
    for mgr, p in conflicts:
        by_mgr.setdefault(mgr, []).append(patching.format_path(p))
    n = len(conflicts)
    if n == 1:
        mgr, p = conflicts[0]
        msg = 'Apply failed with 1 conflict: conflict with "%s": %s' % (mgr, patching.format_path(p))
    else:
        parts = []
        for mgr, paths in by_mgr.items():
            parts.append('conflicts with "%s":\n%s' % (mgr, "\n".join("- " + x for x in paths)))
        msg = "Apply failed with %d conflicts: %s" % (n, "\n".join(parts))
    return ApiError(409, "Conflict", msg, {"causes": [
        {"reason": "FieldManagerConflict", "message": 'conflict with "%s"' % mgr,
         "field": patching.format_path(p)} for mgr, p in conflicts]})


def _go_selector(sel):
    sel = sel or {}
    ml = sel.get("matchLabels") or {}
    return 'v1.LabelSelector{MatchLabels:map[string]string{%s}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}' \
        % ", ".join('"%s":"%s"' % (k, v) for k, v in sorted(ml.items()))


def _cause_with_value(self, rendered):
    self.has_value = False
    self.detail = "%s: %s" % (rendered, self.detail) if self.detail else rendered
    # rebuild as "Invalid value: <rendered>: <detail>"
    return self


Cause._with_value = _cause_with_value

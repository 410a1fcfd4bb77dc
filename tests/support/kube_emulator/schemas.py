"""Built-in resource types of the emulated API server and their OpenAPI schemas.

The schemas come from the ``kubernetes-validate`` package (strict variant: ``additionalProperties: false``),
which also carries the ``x-kubernetes-patch-strategy`` / ``x-kubernetes-patch-merge-key`` /
``x-kubernetes-list-type`` / ``x-kubernetes-list-map-keys`` markers that strategic merge patch and
server-side apply need. One pinned Kubernetes minor (KUBE_MINOR) is used for everything.
"""
import functools
import json
import os

import jsonschema

KUBE_VERSION = "1.32.0"
KUBE_MINOR = "1.32"


@functools.lru_cache(maxsize=1)
def definitions():
    import kubernetes_validate

    base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                        "v%s-local-strict" % KUBE_VERSION)
    with open(os.path.join(base, "_definitions.json"), encoding="utf-8") as fh:
        return json.load(fh)["$defs"]


@functools.lru_cache(maxsize=None)
def def_name_for(group, version, kind):
    for name, d in definitions().items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            if gvk.get("group", "") == group and gvk["version"] == version and gvk["kind"] == kind:
                return name
    return None


@functools.lru_cache(maxsize=None)
def validator_for(def_name):
    schema = {"$ref": "#/$defs/%s" % def_name, "$defs": definitions()}
    return jsonschema.Draft202012Validator(schema)


def resolve(schema):
    """Follow $ref (and single-entry allOf) to the real schema node; None stays None."""
    seen = 0
    while schema is not None and seen < 20:
        seen += 1
        if "$ref" in schema:
            ref = schema["$ref"]
            name = ref.rsplit("/", 1)[-1]
            schema = definitions().get(name)
            continue
        if "allOf" in schema and len(schema["allOf"]) == 1 and "properties" not in schema:
            schema = schema["allOf"][0]
            continue
        break
    return schema


def child(schema, key):
    """Schema of property ``key`` of an object schema (properties or additionalProperties)."""
    schema = resolve(schema)
    if not schema:
        return None
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    ap = schema.get("additionalProperties")
    if isinstance(ap, dict):
        return ap
    return None


def items(schema):
    schema = resolve(schema)
    if not schema:
        return None
    return schema.get("items")


def list_info(schema):
    """(list_type, keys, patch_strategy, patch_merge_key) of a list schema (unresolved node)."""
    if schema is None:
        return (None, [], None, None)
    node = schema
    r = resolve(schema)

    def pick(k):
        return node.get(k, r.get(k) if r else None)
    return (pick("x-kubernetes-list-type"), pick("x-kubernetes-list-map-keys") or [],
            pick("x-kubernetes-patch-strategy"), pick("x-kubernetes-patch-merge-key"))


def is_atomic_map(schema):
    if schema is None:
        return False
    r = resolve(schema) or {}
    return schema.get("x-kubernetes-map-type", r.get("x-kubernetes-map-type")) == "atomic"


# ---------------------------------------------------------------------------------------------
# The built-in resource table: (group, version, kind, plural, namespaced, shortNames, subresources,
# has_generation, status_subresource)
_BUILTINS = [
    ("", "v1", "Namespace", "namespaces", False, ["ns"], ["status", "finalize"], False, True),
    ("", "v1", "ConfigMap", "configmaps", True, ["cm"], [], False, False),
    ("", "v1", "Secret", "secrets", True, [], [], False, False),
    ("", "v1", "Service", "services", True, ["svc"], ["status", "proxy"], False, True),
    ("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"], ["token"], False, False),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ["pvc"], ["status"], False, True),
    ("", "v1", "PersistentVolume", "persistentvolumes", False, ["pv"], ["status"], False, True),
    ("", "v1", "Pod", "pods", True, ["po"], ["status", "log", "proxy"], False, True),
    ("", "v1", "Endpoints", "endpoints", True, ["ep"], [], False, False),
    ("", "v1", "Event", "events", True, ["ev"], [], False, False),
    ("apps", "v1", "Deployment", "deployments", True, ["deploy"], ["status", "scale"], True, True),
    ("apps", "v1", "StatefulSet", "statefulsets", True, ["sts"], ["status", "scale"], True, True),
    ("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"], ["status", "scale"], True, True),
    ("apps", "v1", "DaemonSet", "daemonsets", True, ["ds"], ["status"], True, True),
    ("batch", "v1", "Job", "jobs", True, [], ["status"], True, True),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ["netpol"], [], True, False),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True, ["ing"], ["status"], True, True),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ["pdb"], ["status"], True, True),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True, [], [], False, False),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, [], [], False, False),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, [], [], False, False),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, [], [], False, False),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ["sc"], [], False, False),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, ["crd", "crds"],
     ["status"], True, True),
]


class ResourceType:
    """One served (group, version, resource)."""

    def __init__(self, group, version, kind, plural, namespaced, short_names=(), subresources=(),
                 has_generation=True, status_subresource=True, crd=None, schema=None, singular=None,
                 categories=()):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular or kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.subresources = list(subresources)
        self.has_generation = has_generation
        self.status_subresource = status_subresource
        self.crd = crd            # name of the CRD when this is a custom resource
        self.schema = schema      # openAPIV3Schema for custom resources
        self.categories = list(categories)

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def group_resource(self):
        """``deployments.apps`` / ``configmaps`` as used in Status messages."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    @property
    def group_kind(self):
        """``Deployment.apps`` / ``Service`` as used in Invalid messages."""
        return "%s.%s" % (self.kind, self.group) if self.group else self.kind

    def discovery(self):
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        out = [{
            "name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
            "kind": self.kind, "verbs": verbs,
        }]
        if self.short_names:
            out[0]["shortNames"] = self.short_names
        if self.categories:
            out[0]["categories"] = self.categories
        for sub in self.subresources:
            entry = {"name": "%s/%s" % (self.plural, sub), "singularName": "", "namespaced": self.namespaced,
                     "kind": self.kind, "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                entry.update(group="autoscaling", version="v1", kind="Scale")
            elif sub == "proxy":
                entry.update(kind="ServiceProxyOptions",
                             verbs=["create", "delete", "get", "patch", "update"])
            elif sub == "token":
                entry.update(group="authentication.k8s.io", version="v1", kind="TokenRequest", verbs=["create"])
            elif sub == "log":
                entry.update(kind="Pod", verbs=["get"])
            elif sub == "finalize":
                entry.update(verbs=["update"])
            out.append(entry)
        return out


def builtin_types():
    return [ResourceType(g, v, k, p, ns, sn, subs, gen, st) for (g, v, k, p, ns, sn, subs, gen, st) in _BUILTINS]

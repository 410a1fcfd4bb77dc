"""Defaulting the way kube-apiserver 1.32 does it for the kinds this project touches.

Only defaults that a later apply could otherwise flip-flop on matter; they are what makes a second
apply of the same manifest a no-op (the server returns the object with defaults, the client compares).
"""


def _image_pull_policy(image):
    if not image:
        return "IfNotPresent"
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _probe(p):
    if not isinstance(p, dict):
        return
    p.setdefault("timeoutSeconds", 1)
    p.setdefault("periodSeconds", 10)
    p.setdefault("successThreshold", 1)
    p.setdefault("failureThreshold", 3)
    if isinstance(p.get("httpGet"), dict):
        p["httpGet"].setdefault("path", "/")
        p["httpGet"].setdefault("scheme", "HTTP")


def _env(env):
    for e in env or []:
        vf = e.get("valueFrom") if isinstance(e, dict) else None
        if isinstance(vf, dict) and isinstance(vf.get("fieldRef"), dict):
            vf["fieldRef"].setdefault("apiVersion", "v1")


def _container(c):
    if not isinstance(c, dict):
        return
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", _image_pull_policy(c.get("image")))
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(probe))
    _env(c.get("env"))


def pod_spec(spec):
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            _container(c)
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        for src in ("secret", "configMap", "projected", "downwardAPI"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
        if isinstance(v.get("downwardAPI"), dict):
            for it in v["downwardAPI"].get("items") or []:
                if isinstance(it.get("fieldRef"), dict):
                    it["fieldRef"].setdefault("apiVersion", "v1")


def _template(spec):
    tpl = spec.get("template")
    if isinstance(tpl, dict):
        tpl.setdefault("metadata", {})
        if tpl["metadata"] is None:
            tpl["metadata"] = {}
        pod_spec(tpl.get("spec"))


def pvc_spec(spec):
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")


def apply_defaults(kind, obj, default_storage_class=None):
    spec = obj.get("spec")
    if kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strat = spec.setdefault("strategy", {})
        strat.setdefault("type", "RollingUpdate")
        if strat["type"] == "RollingUpdate":
            ru = strat.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        _template(spec)
    elif kind == "StatefulSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {})
        us.setdefault("type", "RollingUpdate")
        if us["type"] == "RollingUpdate":
            us.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        pol = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
        pol.setdefault("whenDeleted", "Retain")
        pol.setdefault("whenScaled", "Retain")
        for vct in spec.get("volumeClaimTemplates") or []:
            if isinstance(vct, dict):
                vct.setdefault("apiVersion", "v1")
                vct.setdefault("kind", "PersistentVolumeClaim")
                pvc_spec(vct.get("spec"))
                vct.setdefault("status", {"phase": "Pending"})
        _template(spec)
    elif kind in ("ReplicaSet", "DaemonSet", "Job") and isinstance(spec, dict):
        if kind == "ReplicaSet":
            spec.setdefault("replicas", 1)
        _template(spec)
    elif kind == "Pod":
        pod_spec(spec)
        if isinstance(spec, dict):
            spec.setdefault("enableServiceLinks", True)
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("internalTrafficPolicy", "Cluster")
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("ipFamilies", ["IPv4"])
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "targetPort" not in p and "port" in p:
                    p["targetPort"] = p["port"]
    elif kind == "PersistentVolumeClaim":
        pvc_spec(spec)
        if isinstance(spec, dict) and default_storage_class and "storageClassName" not in spec:
            # the DefaultStorageClass admission plugin
            spec["storageClassName"] = default_storage_class
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name")
    elif kind == "NetworkPolicy" and isinstance(spec, dict):
        if "policyTypes" not in spec or not spec["policyTypes"]:
            types = ["Ingress"]
            if spec.get("egress"):
                types.append("Egress")
            spec["policyTypes"] = types
        for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
            for p in (rule or {}).get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
    elif kind == "ServiceAccount":
        pass
    elif kind == "Job" and isinstance(spec, dict):
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
        spec.setdefault("conversion", {"strategy": "None"})
        for v in spec.get("versions") or []:
            pass
    elif kind == "PodDisruptionBudget":
        pass
    return obj


def crd_schema_defaults(obj, schema):
    """Structural-schema defaulting (``default:`` values in a CRD's openAPIV3Schema)."""
    if not isinstance(schema, dict):
        return obj
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        for k, sub in props.items():
            if k not in obj and isinstance(sub, dict) and "default" in sub:
                import copy
                obj[k] = copy.deepcopy(sub["default"])
        for k, v in list(obj.items()):
            if k in props:
                crd_schema_defaults(v, props[k])
            elif isinstance(schema.get("additionalProperties"), dict):
                crd_schema_defaults(v, schema["additionalProperties"])
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for it in obj:
            crd_schema_defaults(it, schema["items"])
    return obj

"""Validation of objects the way kube-apiserver rejects them.

Built-in kinds: the strict OpenAPI schema from kubernetes-validate (unknown fields -> 400 strict decoding
error, wrong types -> 400 decode error, missing required -> 422 Invalid) plus the semantic checks of the
real validators that matter for this project (names, labels, selectors, containers, ports, volume mounts,
PVC access modes/requests, quantities, Secret data, immutable fields).
Custom resources: the openAPIV3Schema of the served version (jsonschema, Draft 4 semantics as OpenAPI v3.0),
unknown fields checked against the structural schema.
"""
import base64
import binascii
import re

import jsonschema

from . import schemas
from .errors import ApiError, Cause, invalid

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")

MSG_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
             "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation "
             "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
            "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
            "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
MSG_LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
MSG_QUALIFIED = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                 "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                 "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
MSG_CONFIG_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
MSG_QUANTITY = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

_SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "m": 10**-3, "u": 10**-6, "n": 10**-9}


def parse_quantity(q):
    """Quantity string/number -> float; ValueError when not a valid Kubernetes quantity."""
    if isinstance(q, bool):
        raise ValueError(q)
    if isinstance(q, (int, float)):
        return float(q)
    m = QUANTITY.match(str(q))
    if not m:
        raise ValueError(q)
    num, suf = m.groups()
    if suf in _SUFFIX:
        return float(num) * _SUFFIX[suf]
    if suf[:1] in "eE":
        return float(num) * 10 ** int(suf[1:])
    raise ValueError(q)


def strip_nulls(v):
    if isinstance(v, dict):
        return {k: strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [strip_nulls(x) for x in v]
    return v


def field_path(parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + str(p)
    return out


# ------------------------------------------------------------------------------------------ builtin schema
_GO_TYPES = {"integer": "int64", "string": "string", "boolean": "bool", "number": "float64",
             "object": "map[string]interface {}", "array": "[]interface {}"}


def _json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def validate_builtin_schema(rt, obj, field_validation="Strict"):
    """Returns (obj_without_unknown_fields, warnings). Raises ApiError 400/422."""
    name = schemas.def_name_for(rt.group, rt.version, rt.kind)
    if not name:
        return obj, []
    validator = schemas.validator_for(name)
    unknown, type_errors, causes = [], [], []
    for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        _collect(err, unknown, type_errors, causes)
    prefix = '%s in version "%s" cannot be handled as a %s: ' % (rt.kind, rt.version, rt.kind)
    if type_errors:
        raise ApiError(400, "BadRequest", prefix + type_errors[0])
    warnings = []
    if unknown:
        msgs = ['unknown field "%s"' % u for u in unknown]
        if field_validation == "Strict":
            raise ApiError(400, "BadRequest", prefix + "strict decoding error: " + ", ".join(msgs))
        for u in unknown:
            _drop(obj, u)
        if field_validation == "Warn":
            warnings = msgs
    if causes:
        raise invalid(rt, (obj.get("metadata") or {}).get("name") or "", causes)
    return obj, warnings


def _collect(err, unknown, type_errors, causes):
    path = list(err.absolute_path)
    if err.validator == "additionalProperties":
        props = (err.schema.get("properties") or {}).keys()
        for k in err.instance:
            if k not in props:
                unknown.append(field_path(path + [k]))
    elif err.validator == "required":
        for r in err.validator_value:
            if isinstance(err.instance, dict) and r not in err.instance:
                causes.append(Cause(field_path(path + [r]), "Required value"))
    elif err.validator == "type":
        want = err.validator_value
        want = [t for t in (want if isinstance(want, list) else [want]) if t != "null"]
        type_errors.append("json: cannot unmarshal %s into Go struct field %s of type %s"
                           % (_json_type(err.instance), field_path(path) or ".",
                              _GO_TYPES.get(want[0] if want else "", "?")))
    elif err.validator in ("oneOf", "anyOf"):
        # IntOrString / Quantity: a value of the wrong JSON type
        sub_unknown, sub_type, sub_causes = [], [], []
        for ctx in err.context or []:
            _collect(ctx, sub_unknown, sub_type, sub_causes)
        if sub_unknown or sub_causes:
            unknown.extend(sub_unknown)
            causes.extend(sub_causes)
        else:
            type_errors.append("json: cannot unmarshal %s into Go struct field %s of type %s"
                               % (_json_type(err.instance), field_path(path), "intstr.IntOrString or quantity"))
    elif err.validator == "enum":
        if path and path[-1] in ("apiVersion", "kind"):
            return
        causes.append(Cause(field_path(path), "Unsupported value", "supported values: %s"
                            % ", ".join('"%s"' % x for x in err.validator_value), err.instance, True))
    else:
        causes.append(Cause(field_path(path), "Invalid value", err.message, err.instance, True))


def _drop(obj, dotted):
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", dotted)
    cur = obj
    for p in parts[:-1]:
        cur = cur[int(p[1:-1])] if p.startswith("[") else cur.get(p)
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


# ------------------------------------------------------------------------------------------ semantic checks
def _check_meta(rt, obj, causes, name_re=DNS1123_SUBDOMAIN, name_msg=MSG_SUBDOMAIN):
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        causes.append(Cause("metadata.name", "Required value", "name or generateName is required"))
    elif not name_re.match(name) or len(name) > 253:
        causes.append(Cause("metadata.name", "Invalid value", name_msg, name, True))
    _check_labels(meta.get("labels"), "metadata.labels", causes)
    for k in (meta.get("annotations") or {}):
        if not _qualified_key_ok(k):
            causes.append(Cause("metadata.annotations", "Invalid value", MSG_QUALIFIED, k, True))


def _qualified_key_ok(k):
    if "/" in k:
        prefix, _sep, n = k.partition("/")
        return bool(DNS1123_SUBDOMAIN.match(prefix)) and bool(QUALIFIED_NAME.match(n)) and len(n) <= 63
    return bool(QUALIFIED_NAME.match(k)) and len(k) <= 63


def _check_labels(labels, path, causes):
    for k, v in (labels or {}).items():
        if not _qualified_key_ok(k):
            causes.append(Cause(path, "Invalid value", MSG_QUALIFIED, k, True))
        if not isinstance(v, str) or not LABEL_VALUE.match(v) or len(v) > 63:
            causes.append(Cause(path, "Invalid value", MSG_LABEL_VALUE, v, True))


def _check_selector_matches(sel, tpl_labels, path, causes):
    if not isinstance(sel, dict) or (not sel.get("matchLabels") and not sel.get("matchExpressions")):
        causes.append(Cause(path + ".selector", "Invalid value", "empty selector is invalid for deployment",
                            sel, True))
        return
    from .selectors import label_selector_matches
    if not label_selector_matches(sel, tpl_labels or {}):
        causes.append(Cause(path + ".template.metadata.labels", "Invalid value",
                            "`selector` does not match template `labels`", tpl_labels or {}, True))


def _check_quantities(res, path, causes):
    for section in ("requests", "limits"):
        for k, v in ((res or {}).get(section) or {}).items():
            try:
                parse_quantity(v)
            except ValueError:
                raise ApiError(400, "BadRequest", MSG_QUANTITY)


def _item_name_causes(item_path, name, seen):
    """The causes a list item's name (volume, container) gives: required, a DNS-1123 label, unique in ``seen``."""
    if not name:
        return [Cause(item_path + ".name", "Required value")]
    if not DNS1123_LABEL.match(name):
        return [Cause(item_path + ".name", "Invalid value", MSG_LABEL, name, True)]
    if name in seen:
        return [Cause(item_path + ".name", "Duplicate value", None, name, True)]
    return []


def check_pod_spec(spec, path, causes, extra_volumes=()):
    if not isinstance(spec, dict):
        causes.append(Cause(path, "Required value"))
        return
    containers = spec.get("containers") or []
    if not containers:
        causes.append(Cause(path + ".containers", "Required value"))
    volumes = {n: {} for n in extra_volumes}
    for i, v in enumerate(spec.get("volumes") or []):
        vp = "%s.volumes[%d]" % (path, i)
        vn = v.get("name")
        causes.extend(_item_name_causes(vp, vn, volumes))
        volumes[vn] = v
        srcs = [k for k in v if k != "name"]
        if not srcs:
            causes.append(Cause(vp, "Required value", "must specify a volume type"))
        elif len(srcs) > 1:
            causes.append(Cause(vp + "." + srcs[1], "Forbidden", "may not specify more than 1 volume type"))
    names = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            cp = "%s.%s[%d]" % (path, key, i)
            cn = c.get("name")
            causes.extend(_item_name_causes(cp, cn, names))
            names.add(cn)
            if not c.get("image"):
                causes.append(Cause(cp + ".image", "Required value"))
            ports = set()
            for j, p in enumerate(c.get("ports") or []):
                pp = "%s.ports[%d]" % (cp, j)
                cport = p.get("containerPort")
                if not isinstance(cport, int) or not 1 <= cport <= 65535:
                    causes.append(Cause(pp + ".containerPort", "Invalid value",
                                        "must be between 1 and 65535, inclusive", cport, True))
                if p.get("name"):
                    if p["name"] in ports:
                        causes.append(Cause(pp + ".name", "Duplicate value", None, p["name"], True))
                    ports.add(p["name"])
            for j, m in enumerate(c.get("volumeMounts") or []):
                mp = "%s.volumeMounts[%d]" % (cp, j)
                if not m.get("name"):
                    causes.append(Cause(mp + ".name", "Required value"))
                elif m["name"] not in volumes:
                    causes.append(Cause(mp + ".name", "Not found", None, m["name"], True))
                if not m.get("mountPath"):
                    causes.append(Cause(mp + ".mountPath", "Required value"))
            for j, e in enumerate(c.get("env") or []):
                ep = "%s.env[%d]" % (cp, j)
                if not e.get("name"):
                    causes.append(Cause(ep + ".name", "Required value"))
                elif not ENV_NAME.match(e["name"]):
                    causes.append(Cause(ep + ".name", "Invalid value",
                                        "a valid environment variable name must consist of alphabetic characters, "
                                        "digits, '_', '-', or '.', and must not start with a digit (e.g. "
                                        "'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for "
                                        "validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')", e["name"], True))
                vf = e.get("valueFrom")
                if vf is not None and "value" in e and e["value"]:
                    causes.append(Cause(ep + ".valueFrom", "Invalid value",
                                        "may not be specified when `value` is not empty", "", True))
                for ref in ("secretKeyRef", "configMapKeyRef"):
                    r = (vf or {}).get(ref)
                    if isinstance(r, dict) and not r.get("key"):
                        causes.append(Cause("%s.valueFrom.%s.key" % (ep, ref), "Required value"))
            _check_quantities(c.get("resources"), cp + ".resources", causes)
            res = c.get("resources") or {}
            for rname, lim in (res.get("limits") or {}).items():
                req = (res.get("requests") or {}).get(rname)
                if req is not None and parse_quantity(req) > parse_quantity(lim):
                    causes.append(Cause("%s.resources.requests" % cp, "Invalid value",
                                        "must be less than or equal to %s limit of %s" % (rname, lim), req, True))


def _check_service(obj, causes):
    spec = obj.get("spec") or {}
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") or []
    if spec.get("type", "ClusterIP") != "ExternalName" and not ports and not headless:
        causes.append(Cause("spec.ports", "Required value"))
    names, nums = set(), set()
    for i, p in enumerate(ports):
        pp = "spec.ports[%d]" % i
        if len(ports) > 1 and not p.get("name"):
            causes.append(Cause(pp + ".name", "Required value"))
        if p.get("name"):
            if p["name"] in names:
                causes.append(Cause(pp + ".name", "Duplicate value", None, p["name"], True))
            names.add(p["name"])
        port = p.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            causes.append(Cause(pp + ".port", "Invalid value", "must be between 1 and 65535, inclusive", port, True))
        key = (port, p.get("protocol", "TCP"))
        if key in nums:
            causes.append(Cause(pp, "Duplicate value", None, {"port": port, "protocol": key[1]}, True))
        nums.add(key)
        tp = p.get("targetPort")
        if isinstance(tp, int) and not 1 <= tp <= 65535:
            causes.append(Cause(pp + ".targetPort", "Invalid value", "must be between 1 and 65535, inclusive",
                                tp, True))
    if spec.get("type") not in (None, "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(Cause("spec.type", "Unsupported value",
                            'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
                            spec.get("type"), True))


def _check_pvc_spec(spec, path, causes):
    spec = spec or {}
    if not spec.get("accessModes"):
        causes.append(Cause(path + ".accessModes", "Required value", "at least 1 access mode is required"))
    for i, m in enumerate(spec.get("accessModes") or []):
        if m not in ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"):
            causes.append(Cause("%s.accessModes" % path, "Unsupported value",
                                'supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", '
                                '"ReadWriteOncePod"', m, True))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        causes.append(Cause(path + ".resources[storage]", "Required value"))
    else:
        try:
            if parse_quantity(storage) <= 0:
                causes.append(Cause(path + ".resources[storage]", "Invalid value", "must be greater than zero",
                                    storage, True))
        except ValueError:
            raise ApiError(400, "BadRequest", MSG_QUANTITY)


def _check_deployment_strategy(strategy, path, causes):
    """ValidateDeploymentStrategy (pkg/apis/apps/validation/validation.go): a Recreate Deployment may not carry
    rollingUpdate, also when the rollingUpdate is what SetDefaults_Deployment (pkg/apis/apps/v1/defaults.go) put
    there at creation and the request only changed ``type``."""
    strategy = strategy or {}
    stype = strategy.get("type")
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            causes.append(Cause(path + ".rollingUpdate", "Forbidden",
                                "may not be specified when strategy `type` is 'Recreate'"))
    elif stype not in (None, "RollingUpdate"):
        causes.append(Cause(path + ".type", "Unsupported value", 'supported values: "Recreate", "RollingUpdate"',
                            stype, True))


def validate_semantics(rt, obj, extra_causes=()):
    """Like the apiserver's ValidateXxx / ValidateXxxUpdate: every cause in one 422; ``extra_causes`` (the update
    checks, e.g. an immutable selector) come after the spec's own, as ValidateDeploymentUpdate appends them."""
    causes = []
    kind = rt.kind
    if kind in ("Namespace",):
        _check_meta(rt, obj, causes, DNS1123_LABEL, MSG_LABEL)
    elif kind == "Service":
        _check_meta(rt, obj, causes, DNS1035_LABEL, MSG_1035)
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        _check_meta(rt, obj, causes, DNS1123_SUBDOMAIN if kind != "StatefulSet" else DNS1123_LABEL,
                    MSG_SUBDOMAIN if kind != "StatefulSet" else MSG_LABEL)
    else:
        _check_meta(rt, obj, causes)
    spec = obj.get("spec")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        spec = spec or {}
        tpl = spec.get("template") or {}
        tlabels = (tpl.get("metadata") or {}).get("labels")
        _check_labels(tlabels, "spec.template.metadata.labels", causes)
        _check_selector_matches(spec.get("selector"), tlabels, "spec", causes)
        vct_names = [((v or {}).get("metadata") or {}).get("name") for v in spec.get("volumeClaimTemplates") or []]
        check_pod_spec(tpl.get("spec"), "spec.template.spec", causes, vct_names)
        rp = (tpl.get("spec") or {}).get("restartPolicy")
        if rp not in (None, "Always"):
            causes.append(Cause("spec.template.spec.restartPolicy", "Unsupported value", 'supported values: "Always"',
                                rp, True))
        if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
            causes.append(Cause("spec.replicas", "Invalid value", "must be greater than or equal to 0",
                                spec["replicas"], True))
        if kind == "Deployment":
            _check_deployment_strategy(spec.get("strategy"), "spec.strategy", causes)
        if kind == "StatefulSet":
            for i, vct in enumerate(spec.get("volumeClaimTemplates") or []):
                _check_pvc_spec((vct or {}).get("spec"), "spec.volumeClaimTemplates[%d].spec" % i, causes)
    elif kind == "Pod":
        check_pod_spec(spec, "spec", causes)
    elif kind == "Service":
        _check_service(obj, causes)
    elif kind == "PersistentVolumeClaim":
        _check_pvc_spec(spec, "spec", causes)
    elif kind in ("ConfigMap", "Secret"):
        for section in ("data", "binaryData", "stringData"):
            for k in (obj.get(section) or {}):
                if not CONFIG_KEY.match(k):
                    causes.append(Cause("%s[%s]" % (section, k), "Invalid value", MSG_CONFIG_KEY, k, True))
        if kind == "Secret":
            for k, v in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(v or "", validate=True)
                except (binascii.Error, ValueError, TypeError):
                    raise ApiError(400, "BadRequest", 'Secret in version "v1" cannot be handled as a Secret: '
                                   "illegal base64 data at input byte 0")
    elif kind == "PodDisruptionBudget":
        spec = spec or {}
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            causes.append(Cause("spec", "Invalid value", "minAvailable and maxUnavailable cannot be both set",
                                spec, True))
    elif kind == "NetworkPolicy":
        for i, t in enumerate((spec or {}).get("policyTypes") or []):
            if t not in ("Ingress", "Egress"):
                causes.append(Cause("spec.policyTypes[%d]" % i, "Unsupported value",
                                    'supported values: "Egress", "Ingress"', t, True))
        for sect in ("ingress", "egress"):
            for i, rule in enumerate((spec or {}).get(sect) or []):
                for j, p in enumerate((rule or {}).get("ports") or []):
                    port = p.get("port")
                    if isinstance(port, int) and not 1 <= port <= 65535:
                        causes.append(Cause("spec.%s[%d].ports[%d].port" % (sect, i, j), "Invalid value",
                                            "must be between 1 and 65535, inclusive", port, True))
    causes.extend(extra_causes)
    if causes:
        raise invalid(rt, (obj.get("metadata") or {}).get("name") or "", causes)


# ------------------------------------------------------------------------------------------ custom resources
def _cr_unknown(obj, schema, path, out, root=False):
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(obj, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        embedded = root or schema.get("x-kubernetes-embedded-resource")
        for k, v in obj.items():
            if embedded and k in ("apiVersion", "kind", "metadata"):
                continue
            if props is not None and k in props:
                _cr_unknown(v, props[k], path + [k], out)
            elif isinstance(addl, dict):
                _cr_unknown(v, addl, path + [k], out)
            elif addl is True:
                continue
            elif props is not None or schema.get("type") == "object":
                out.append(field_path(path + [k]))
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, it in enumerate(obj):
            _cr_unknown(it, schema["items"], path + [i], out)


def validate_custom(rt, obj, field_validation="Strict"):
    schema = rt.schema or {}
    name = (obj.get("metadata") or {}).get("name") or ""
    warnings = []
    unknown = []
    _cr_unknown(obj, schema, [], unknown, root=True)
    if unknown:
        msgs = ['unknown field "%s"' % u for u in unknown]
        if field_validation == "Strict":
            raise ApiError(400, "BadRequest", "strict decoding error: " + ", ".join(msgs))
        for u in unknown:
            _drop(obj, u)
        if field_validation == "Warn":
            warnings = msgs
    causes = []
    _check_meta(rt, obj, causes)
    body = {k: v for k, v in obj.items() if k != "metadata"}
    sch = dict(schema)
    props = dict(sch.get("properties") or {})
    props.pop("metadata", None)
    sch["properties"] = props
    validator = jsonschema.Draft4Validator(sch)
    for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        causes.extend(_cr_causes(err))
    if causes:
        raise invalid(rt, name, causes)
    return obj, warnings


def _cr_causes(err):
    path = list(err.absolute_path)
    fp = field_path(path)
    v = err.validator
    inst = err.instance
    if v == "required":
        return [Cause(field_path(path + [r]), "Required value") for r in err.validator_value
                if isinstance(inst, dict) and r not in inst]
    if v == "type":
        return [Cause(fp, "Invalid value", "%s in body must be of type %s: %s" % (fp, err.validator_value,
                      _go_quoted(inst)), _json_type_name(inst), True)]
    if v == "enum":
        return [Cause(fp, "Unsupported value", "supported values: %s" % ", ".join(
            '"%s"' % x for x in err.validator_value), inst, True)]
    if v == "pattern":
        return [Cause(fp, "Invalid value", "%s in body should match '%s'" % (fp, err.validator_value), inst, True)]
    if v == "maxLength":
        return [Cause(fp, "Too long", "may not be more than %d bytes" % err.validator_value)]
    if v == "minLength":
        return [Cause(fp, "Invalid value", "%s in body should be at least %d chars long" % (fp, err.validator_value),
                      inst, True)]
    if v == "maxItems":
        return [Cause(fp, "Too many", "must have at most %d items" % err.validator_value, len(inst), True)]
    if v == "minItems":
        return [Cause(fp, "Invalid value", "%s in body should have at least %d items" % (fp, err.validator_value),
                      len(inst), True)]
    if v == "minimum":
        return [Cause(fp, "Invalid value", "%s in body should be greater than or equal to %s"
                      % (fp, err.validator_value), inst, True)]
    if v == "maximum":
        return [Cause(fp, "Invalid value", "%s in body should be less than or equal to %s"
                      % (fp, err.validator_value), inst, True)]
    if v in ("oneOf", "anyOf") and err.context:
        return _cr_causes(sorted(err.context, key=lambda e: len(list(e.absolute_path)))[-1])
    return [Cause(fp, "Invalid value", err.message, inst, True)]


def _json_type_name(v):
    return {"bool": "boolean"}.get(_json_type(v), _json_type(v))


def _go_quoted(v):
    return '"%s"' % _json_type_name(v)

"""Label selectors (query-string syntax and metav1.LabelSelector) and field selectors."""
import re

from .errors import ApiError

_REQ = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def _split(sel):
    parts, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def parse_label_selector(sel):
    reqs = []
    for part in _split(sel or ""):
        m = _REQ.match(part)
        if not m:
            raise ApiError(400, "BadRequest", 'unable to parse requirement: found \'%s\', expected: identifier'
                           % part.strip())
        neg, key, op, val, setop, setvals = m.groups()
        if neg:
            if op or setop:
                raise ApiError(400, "BadRequest", "unable to parse requirement: %s" % part)
            reqs.append((key, "!", None))
        elif op:
            reqs.append((key, "!=" if op == "!=" else "=", val))
        elif setop:
            reqs.append((key, setop, [v.strip() for v in setvals.split(",") if v.strip()]))
        else:
            reqs.append((key, "exists", None))
    return reqs


def match_label_requirements(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        if op == "=" and labels.get(key) != val:
            return False
        if op == "!=" and labels.get(key) == val:
            return False
        if op == "in" and labels.get(key) not in val:
            return False
        if op == "notin" and key in labels and labels[key] in val:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!" and key in labels:
            return False
    return True


def label_selector_matches(selector, labels):
    """metav1.LabelSelector semantics (an empty selector matches everything)."""
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, vals = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


FIELD_LABELS = {
    "*": {"metadata.name", "metadata.namespace"},
    "Pod": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "status.phase", "status.podIP", "status.nominatedNodeName", "spec.hostNetwork"},
    "Secret": {"type"},
    "Event": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
              "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
              "reason", "reportingComponent", "source", "type"},
    "Namespace": {"status.phase"},
    "ReplicaSet": {"status.replicas"},
}


def parse_field_selector(sel, kind, api_version):
    reqs = []
    for part in [p for p in (sel or "").split(",") if p.strip()]:
        m = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise ApiError(400, "BadRequest", "invalid selector: '%s'; can't understand '%s'" % (sel, part))
        key, op, val = m.groups()
        if key not in FIELD_LABELS["*"] and key not in FIELD_LABELS.get(kind, set()):
            raise ApiError(400, "BadRequest", 'field label not supported: %s' % key)
        reqs.append((key, op, val))
    return reqs


def match_fields(reqs, obj):
    for key, op, val in reqs:
        cur = obj
        for p in key.split("."):
            cur = cur.get(p) if isinstance(cur, dict) else None
        cur = "" if cur is None else str(cur).lower() if isinstance(cur, bool) else str(cur)
        if op == "!=":
            if cur == val:
                return False
        elif cur != val:
            return False
    return True

"""JSON merge patch, strategic merge patch, JSON patch and server-side apply merging.

Strategic merge and apply are driven by the schema markers (``x-kubernetes-patch-strategy``,
``x-kubernetes-patch-merge-key``, ``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-map-type``) found in the built-in OpenAPI definitions or a CRD's openAPIV3Schema.
"""
import copy

import jsonpatch

from . import schemas
from .errors import ApiError


# ------------------------------------------------------------------------------------------ merge patch
def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# ------------------------------------------------------------------------------------------ json patch
def json_patch(target, ops):
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.JsonPatch(ops).apply(copy.deepcopy(target))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError, TypeError) as e:
        raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request: %s" % e,
                       {})


# ------------------------------------------------------------------------------------------ strategic merge
def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items()
                if not (k.startswith("$setElementOrder/") or k.startswith("$deleteFromPrimitiveList/")
                        or k in ("$patch", "$retainKeys"))}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v if not (isinstance(x, dict) and x.get("$patch") == "replace"
                                                        and len(x) == 1)]
    return v


def strategic_merge(original, patch, schema):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in (v or [])]
            continue
        sub = schemas.child(schema, k)
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            if v.get("$patch") == "delete":
                result.pop(k, None)
            else:
                _lt, _keys, strategy, _mk = schemas.list_info(sub)
                if strategy == "replace":
                    result[k] = _strip_directives(v)
                else:
                    result[k] = strategic_merge(result.get(k), v, sub)
        elif isinstance(v, list):
            _lt, _keys, strategy, mkey = schemas.list_info(sub)
            if strategy and "merge" in strategy.split(","):
                result[k] = _merge_list(result.get(k) or [], v, mkey, schemas.items(sub))
            else:
                result[k] = _strip_directives(v)
        else:
            result[k] = v
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: x for k, x in result.items() if k in retain}
    for field, order in orders.items():
        lst = result.get(field)
        if isinstance(lst, list) and isinstance(order, list):
            result[field] = _reorder(lst, order, schemas.list_info(schemas.child(schema, field))[3])
    return result


def _reorder(lst, order, mkey):
    def key(x):
        return x.get(mkey) if (mkey and isinstance(x, dict)) else x
    wanted = [key(o) for o in order]
    head = []
    for w in wanted:
        for x in lst:
            if key(x) == w and x not in head:
                head.append(x)
    return head + [x for x in lst if x not in head]


def _merge_list(orig, patch, mkey, item_schema):
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return _strip_directives([x for x in patch if not (isinstance(x, dict) and x.get("$patch") == "replace")])
    result = copy.deepcopy(orig)
    if not mkey:
        for x in patch:
            if x not in result:
                result.append(copy.deepcopy(x))
        return result
    for item in patch:
        if not isinstance(item, dict):
            result.append(item)
            continue
        kv = item.get(mkey)
        idx = next((i for i, o in enumerate(result) if isinstance(o, dict) and o.get(mkey) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del result[idx]
            continue
        if idx is None:
            result.append(_strip_directives(item))
        else:
            result[idx] = strategic_merge(result[idx], item, item_schema)
    return result


# ------------------------------------------------------------------------------------------ server-side apply
def _list_kind(schema):
    lt, keys, _strategy, mkey = schemas.list_info(schema)
    if lt == "map" or (lt is None and (keys or mkey)):
        return "map", (keys or [mkey])
    if lt == "set":
        return "set", []
    return "atomic", []


def _item_key(item, keys):
    if not isinstance(item, dict):
        return ("__value__", repr(item))
    return tuple((k, item.get(k, _KEY_DEFAULTS.get(k))) for k in keys)


# list-map key fields the server defaults (so an apply config without them still matches the live item)
_KEY_DEFAULTS = {"protocol": "TCP"}


def apply_merge(live, config, schema):
    """Merge an apply configuration into the live object (fields set by config win)."""
    if not isinstance(config, dict):
        return copy.deepcopy(config)
    if schemas.is_atomic_map(schema):
        return copy.deepcopy(config)
    result = copy.deepcopy(live) if isinstance(live, dict) else {}
    for k, v in config.items():
        if v is None:
            continue
        sub = schemas.child(schema, k)
        if isinstance(v, dict):
            result[k] = apply_merge(result.get(k), v, sub)
        elif isinstance(v, list):
            kind, keys = _list_kind(sub)
            old = result.get(k) if isinstance(result.get(k), list) else []
            if kind == "map":
                merged = copy.deepcopy(old)
                for item in v:
                    ik = _item_key(item, keys)
                    idx = next((i for i, o in enumerate(merged) if _item_key(o, keys) == ik), None)
                    if idx is None:
                        merged.append(copy.deepcopy(item))
                    else:
                        merged[idx] = apply_merge(merged[idx], item, schemas.items(sub))
                result[k] = merged
            elif kind == "set":
                merged = copy.deepcopy(old)
                for item in v:
                    if item not in merged:
                        merged.append(copy.deepcopy(item))
                result[k] = merged
            else:
                result[k] = copy.deepcopy(v)
        else:
            result[k] = v
    return result


def leaf_paths(config, schema, prefix=()):
    """Field paths set by an apply configuration: tuples of keys / ('k', itemkey) steps."""
    out = {}
    if not isinstance(config, dict) or schemas.is_atomic_map(schema):
        out[prefix] = config
        return out
    if not config and prefix:
        out[prefix] = config
    for k, v in config.items():
        if v is None:
            continue
        sub = schemas.child(schema, k)
        p = prefix + (k,)
        if isinstance(v, dict):
            out.update(leaf_paths(v, sub, p))
        elif isinstance(v, list):
            kind, keys = _list_kind(sub)
            if kind == "map":
                out[p] = "__list__"
                for item in v:
                    ip = p + (("k", _item_key(item, keys)),)
                    out.update(leaf_paths(item, schemas.items(sub), ip) if isinstance(item, dict) else {ip: item})
            elif kind == "set":
                out[p] = "__list__"
                for item in v:
                    out[p + (("v", repr(item)),)] = item
            else:
                out[p] = v
        else:
            out[p] = v
    return out


def format_path(path):
    parts = []
    for step in path:
        if isinstance(step, tuple):
            if step[0] == "k":
                parts.append("[%s]" % ",".join('%s="%s"' % (k, v) for k, v in step[1]))
            else:
                parts.append("[%s]" % step[1])
        else:
            parts.append("." + step)
    return "".join(parts)


def remove_path(obj, path, schema):
    """Delete the field at ``path`` (as produced by leaf_paths) from obj, in place."""
    if not path:
        return
    step = path[0]
    if isinstance(obj, dict) and not isinstance(step, tuple):
        if len(path) == 1:
            obj.pop(step, None)
            return
        sub = schemas.child(schema, step)
        nxt = obj.get(step)
        if isinstance(nxt, list) and isinstance(path[1], tuple):
            kind, keys = _list_kind(sub)
            st = path[1]
            for i, item in enumerate(list(nxt)):
                match = (_item_key(item, keys) == st[1]) if st[0] == "k" else (repr(item) == st[1])
                if match:
                    if len(path) == 2:
                        nxt.pop(i)
                    else:
                        remove_path(item, path[2:], schemas.items(sub))
                    break
            return
        remove_path(nxt, path[1:], sub)


def prune_empty(obj, path):
    """After removals, drop maps left empty along ``path`` (the apply owned only their children)."""
    if not path or not isinstance(obj, dict):
        return
    step = path[0]
    if isinstance(step, tuple):
        return
    nxt = obj.get(step)
    if isinstance(nxt, dict):
        prune_empty(nxt, path[1:])
        if not nxt and len(path) > 1:
            obj.pop(step, None)

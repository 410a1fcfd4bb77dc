# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: qdrant_apply_plan.yml beside this file.
#
# An object is left out of the server-side apply only when applying it again could not change anything:
# (a) every field it sets has that value live, and (b) our field manager's Apply entry in metadata.managedFields
# owns exactly the fields it sets. (b) matters because an apply also REMOVES the fields the manager owned and no
# longer sets (structured-merge-diff merge/update.go, Updater.Apply -> prune), so a field dropped from a template
# still leaves the cluster.
#
# FieldsV1 (the managedFields set) is structured-merge-diff's fieldpath.Set as JSON: fieldpath/serialize.go
# (Set.ToJSON / FromJSON) nests one object per path element, and writes ".": {} for a path that is a member of the
# set and also has children; fieldpath/serialize-pe.go (SerializePathElement / DeserializePathElement) spells each
# element "f:<field>", "k:<json of the key fields>" (associative list item), "v:<json value>" (set item) or
# "i:<index>" (atomic list item). Here both sides are compared as prefix-closed path sets, so "." does not matter.

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.peekoff.qdrant.plugins.plugin_utils.quantity import same_quantity

# Identity fields: the apply addresses the object by them; fieldmanager does not list them (apiVersion, kind) or
# strips them (metadata.name/namespace, k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager/internal/stripmeta.go).
_TOP_IGNORED = ("apiVersion", "kind", "status")
_META_IGNORED = ("name", "namespace")
# Key fields the API server defaults, so a list item's key in FieldsV1 may carry them though the manifest does not
# (Service/container ports: protocol defaults to TCP, k8s.io/api core/v1 types.go "+default="TCP"").
_KEY_DEFAULTS = {"protocol": "TCP"}


class _Doubt(Exception):
    """Cannot tell cheaply: apply."""


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same_scalar(want, live):
    if _is_num(want) and _is_num(live):
        return want == live
    # A number rendered where the API server keeps a string (quantities, int-or-string written as "1"): the server
    # returns the string it stored.
    if _is_num(want) and isinstance(live, str):
        return str(want) == live or not isinstance(want, float) and same_quantity(str(want), live)
    if isinstance(want, bool) or isinstance(live, bool):
        return isinstance(want, bool) and isinstance(live, bool) and want == live
    # str subclasses too: Ansible hands the filter AnsibleUnsafeText.
    if isinstance(want, str) or isinstance(live, str):
        if not (isinstance(want, str) and isinstance(live, str)):
            return False
        # The API server keeps a quantity in canonical form, not as written: 10240Mi reads back as 10Gi, 1.5Gi as
        # 1536Mi (k8s.io/apimachinery pkg/api/resource/quantity.go, CanonicalizeBytes). Two strings that are
        # quantities of the same value are the same (a string field holding such a value another writer changed
        # would be owned by that writer: the managedFields check applies then).
        return want == live or same_quantity(str(want), str(live))
    return False


def _covers(want, live):
    """Every field of ``want`` has that value in ``live``: maps a subset, lists the same length, item by item.

    Also for a map or list our manager owns whole (atomic: a LabelSelector, args, a CRD's list without list-type):
    what the server added inside it is defaulting (an apply of the same value gets the same defaults); a value
    another writer changed would be owned by that writer, not by us, and the apply runs (managedFields check)."""
    if want is None:
        raise _Doubt()
    if isinstance(want, dict):
        return isinstance(live, dict) and all(k in live and _covers(v, live[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(live, list) and len(want) == len(live) and all(_covers(w, lv) for w, lv in zip(want, live))
    return _same_scalar(want, live)


def _exact(want, live):
    """``want`` and ``live`` are the same value (a set item)."""
    if isinstance(want, dict):
        return isinstance(live, dict) and set(want) == set(live) and all(_exact(v, live[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(live, list) and len(want) == len(live) and all(_exact(w, lv) for w, lv in zip(want, live))
    return want is not None and _same_scalar(want, live)


def _flatten(node, prefix=()):
    """Every path of a FieldsV1 tree (prefix-closed), '.' left out."""
    out = set()
    if not isinstance(node, dict):
        raise _Doubt()
    for key, child in node.items():
        if key == ".":
            continue
        if not isinstance(key, str) or key[:2] not in ("f:", "k:", "v:", "i:"):
            raise _Doubt()
        path = prefix + (key,)
        out.add(path)
        out |= _flatten(child, path)
    return out


def _key_matches(key, item):
    if not isinstance(item, dict) or not isinstance(key, dict) or not key:
        return False
    for field, value in key.items():
        if field in item:
            if item[field] != value and not _same_scalar(item[field], value):
                return False
        elif _KEY_DEFAULTS.get(field) != value:
            return False
    return True


def _element(item, index, managed):
    """The FieldsV1 element naming list item ``item`` (position ``index``) among the children of ``managed``."""
    for name in managed:
        if name.startswith("k:"):
            try:
                key = json.loads(name[2:])
            except ValueError:
                raise _Doubt()
            if _key_matches(key, item):
                return name
        elif name.startswith("v:"):
            try:
                value = json.loads(name[2:])
            except ValueError:
                raise _Doubt()
            if not isinstance(item, (dict, list)) and _same_scalar(item, value) or \
                    isinstance(item, (dict, list)) and _exact(item, value):
                return name
        elif name.startswith("i:") and name[2:] == str(index):
            return name
    raise _Doubt()


def _walk(want, live, managed, prefix, out):
    """Whether every field ``want`` sets has that value in ``live``; adds to ``out`` the paths ``want`` sets, spelled
    as FieldsV1 elements (a list item named the way ``managed``, our manager's FieldsV1 node, names it).

    Maps: ``want`` a subset of ``live``; lists: same length, item by item. A map or list our manager owns as a leaf
    (atomic: a LabelSelector, args) must equal the live value. Raises _Doubt where a list item has no name in
    ``managed`` (our manager does not own it: the apply must run)."""
    if want is None:
        raise _Doubt()
    if isinstance(want, dict):
        if not isinstance(live, dict):
            return False
        if managed == {} and want and prefix:
            out.add(prefix)
            return _covers(want, live)
        for k, v in want.items():
            if not prefix and k in _TOP_IGNORED or prefix == ("f:metadata",) and k in _META_IGNORED:
                continue
            if k not in live:
                return False
            path = prefix + ("f:" + k,)
            before = len(out)
            if not _walk(v, live[k], managed.get("f:" + k) if isinstance(managed, dict) else None, path, out):
                return False
            # A map is a path of its own when it sets something (metadata with only name and namespace does not).
            if len(out) > before or not isinstance(v, dict) or not v:
                out.add(path)
        return True
    if isinstance(want, list):
        if not isinstance(live, list) or len(want) != len(live):
            return False
        elements = [n for n in (managed or {}) if n != "."]
        if not elements:
            return _covers(want, live)
        seen = set()
        for i, item in enumerate(want):
            name = _element(item, i, elements)
            if name in seen:
                raise _Doubt()
            seen.add(name)
            out.add(prefix + (name,))
            if not _walk(item, live[i], managed.get(name) or {}, prefix + (name,), out):
                return False
        return True
    return _same_scalar(want, live)


def unchanged(rendered, live, field_manager):
    """True when a server-side apply of ``rendered`` by ``field_manager`` would leave ``live`` as it is."""
    if not isinstance(rendered, dict) or not isinstance(live, dict):
        return False
    if rendered.get("apiVersion") != live.get("apiVersion") or rendered.get("kind") != live.get("kind"):
        return False
    entries = [m for m in (live.get("metadata") or {}).get("managedFields") or []
               if isinstance(m, dict) and m.get("manager") == field_manager and m.get("operation") == "Apply"
               and not m.get("subresource")]
    if len(entries) != 1:
        return False
    entry = entries[0]
    if entry.get("apiVersion") != rendered.get("apiVersion") or entry.get("fieldsType") != "FieldsV1":
        return False
    try:
        owned = _flatten(entry.get("fieldsV1") or {})
        paths = set()
        return _walk(rendered, live, entry.get("fieldsV1") or {}, (), paths) and paths == owned
    except _Doubt:
        return False


def _ident(obj):
    meta = (obj or {}).get("metadata") or {}
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace") or "", meta.get("name"))


def qdrant_apply_plan(rendered, live, field_manager="peekoff.qdrant"):
    """The objects of ``rendered`` a server-side apply would change (in their order); the rest already match."""
    if not isinstance(rendered, list) or not isinstance(live, list):
        raise AnsibleFilterError("qdrant_apply_plan: rendered and live must be lists of objects")
    by_ident = {}
    for obj in live:
        if isinstance(obj, dict):
            by_ident[_ident(obj)] = obj
    return [obj for obj in rendered if not unchanged(obj, by_ident.get(_ident(obj)), field_manager)]


def qdrant_apply_existing(objects, live, kept=None):
    """The objects of ``objects`` that exist in ``live`` (same apiVersion, kind, namespace and name), leaving out
    those also in ``kept`` (same kind, namespace and name: what the role applies after all, in any version)."""
    kept = [] if kept is None else kept
    if not isinstance(objects, list) or not isinstance(live, list) or not isinstance(kept, list):
        raise AnsibleFilterError("qdrant_apply_existing: objects, live and kept must be lists of objects")
    there = set(_ident(obj) for obj in live if isinstance(obj, dict))
    applied = set(_ident(obj)[1:] for obj in kept if isinstance(obj, dict))
    return [obj for obj in objects
            if isinstance(obj, dict) and _ident(obj) in there and _ident(obj)[1:] not in applied]


class FilterModule(object):
    def filters(self):
        return {"qdrant_apply_plan": qdrant_apply_plan, "qdrant_apply_existing": qdrant_apply_existing}

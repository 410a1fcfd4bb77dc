"""Field ownership (metadata.managedFields), the way kube-apiserver keeps it with structured-merge-diff.

Followed from kubernetes-sigs/structured-merge-diff ``merge/update.go``:

- ``Updater.Update`` (every create, update and non-apply patch: operation ``Update``): the fields the request
  added or modified (``compare.Added``/``compare.Modified``) become the manager's, other managers lose them, and
  removed fields leave every set. On create the comparison is against an empty object after defaulting
  (``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go`` runs the field manager on the decoded,
  defaulted object), so a client-side creator owns the server defaults too, e.g.
  ``f:spec.f:strategy.f:rollingUpdate.f:maxSurge`` of a Deployment created by ``kubectl apply``.
- ``Updater.Apply`` (operation ``Apply``): the manager owns exactly the fields of its configuration; fields it
  owned before and no longer applies are removed unless another manager owns them; defaulted fields are owned by
  nobody and stay. Conflicts are fields another manager (Apply or Update) owns whose value the apply changes.

Paths are the tuples of ``patching.leaf_paths``; ``fields_v1`` writes them as FieldsV1 (``f:``, ``k:``, ``v:``
keys, ``.`` for an owned list item).
"""
import json

from . import patching

# Not part of any manager's set (fieldmanager's stripmeta / ignored fields).
_SYSTEM_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generateName")


def object_paths(obj, schema):
    """Leaf paths of an object's configuration (no identity, system metadata or status)."""
    body = {k: v for k, v in (obj or {}).items() if k not in ("apiVersion", "kind", "status")}
    meta = {k: v for k, v in ((obj or {}).get("metadata") or {}).items() if k not in _SYSTEM_META}
    if meta:
        body["metadata"] = meta
    else:
        body.pop("metadata", None)
    return {p: v for p, v in patching.leaf_paths(body, schema).items() if p}


def compare(old_paths, new_paths):
    """(added_or_modified, removed) path sets between two leaf-path maps."""
    changed = {p for p, v in new_paths.items() if p not in old_paths or json.dumps(old_paths[p], sort_keys=True)
               != json.dumps(v, sort_keys=True)}
    removed = {p for p in old_paths if p not in new_paths}
    return changed, removed


def _step(step, value):
    if isinstance(step, tuple) and step[0] == "k":
        return "k:" + json.dumps(dict(step[1]), separators=(",", ":"), sort_keys=True)
    if isinstance(step, tuple):
        return "v:" + json.dumps(value, separators=(",", ":"))
    return "f:" + step


def fields_v1(paths):
    """FieldsV1 of a leaf-path map."""
    root = {}
    for path, value in sorted(paths.items(), key=lambda pv: repr(pv[0])):
        node = root
        for i, step in enumerate(path):
            node = node.setdefault(_step(step, value if i == len(path) - 1 else None), {})
            if isinstance(step, tuple) and step[0] == "k":
                node.setdefault(".", {})
    return root

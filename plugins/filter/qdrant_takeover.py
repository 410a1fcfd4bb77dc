# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: qdrant_takeover_plan.yml beside this file.

import json

from ansible.errors import AnsibleFilterError

# Annotations and labels by which another tool marks an object as its own.
ARGOCD_TRACKING = "argocd.argoproj.io/tracking-id"
ARGOCD_INSTANCE = "argocd.argoproj.io/instance"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HELM_RELEASE = "meta.helm.sh/release-name"
HELM_RELEASE_NS = "meta.helm.sh/release-namespace"
HELM_CHART = "helm.sh/chart"
MANAGED_BY = "app.kubernetes.io/managed-by"
FOREIGN_ANNOTATIONS = (ARGOCD_TRACKING, LAST_APPLIED, HELM_RELEASE, HELM_RELEASE_NS)
FOREIGN_LABELS = (ARGOCD_INSTANCE, HELM_CHART)
# Field managers that are controllers, not owners of the configuration (status writers, defaulting).
CONTROLLER_MANAGERS = ("kube-controller-manager", "kube-scheduler", "kubelet", "k3s", "external-secrets",
                       "before-first-apply")
STORAGE_PATH = "/qdrant/storage"


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _ref(obj):
    ns = _meta(obj).get("namespace")
    return "%s %s%s" % (obj.get("kind") or "?", ns + "/" if ns else "", _meta(obj).get("name"))


def _j(value):
    return json.dumps(value, sort_keys=True)


def managers_of(obj):
    """Who else claims ``obj``: [(description, way_out_key)] from tracking annotations, labels, managedFields."""
    meta = _meta(obj)
    ann = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    found = []
    if ARGOCD_TRACKING in ann:
        app = str(ann[ARGOCD_TRACKING]).split(":", 1)[0]
        found.append(("Argo CD application %s (annotation %s=%s)" % (app, ARGOCD_TRACKING, ann[ARGOCD_TRACKING]),
                      "argocd:" + app))
    if ARGOCD_INSTANCE in labels:
        found.append(("Argo CD application %s (label %s)" % (labels[ARGOCD_INSTANCE], ARGOCD_INSTANCE),
                      "argocd:" + labels[ARGOCD_INSTANCE]))
    if HELM_RELEASE in ann or labels.get(MANAGED_BY) == "Helm":
        rel = ann.get(HELM_RELEASE) or labels.get("app.kubernetes.io/instance") or "?"
        rns = ann.get(HELM_RELEASE_NS) or meta.get("namespace") or ""
        found.append(("Helm release %s in namespace %s (annotation %s, label %s=Helm)"
                      % (rel, rns, HELM_RELEASE, MANAGED_BY), "helm:%s:%s" % (rns, rel)))
    if LAST_APPLIED in ann and not any(k.startswith("argocd:") for _d, k in found):
        found.append(("kubectl apply (annotation %s)" % LAST_APPLIED, "kubectl"))
    return found


def field_managers(obj, own_manager):
    """Managers in metadata.managedFields other than ours and the controllers (status writers)."""
    out = []
    for entry in _meta(obj).get("managedFields") or []:
        mgr = entry.get("manager") or ""
        if mgr == own_manager or entry.get("subresource") == "status" or mgr in CONTROLLER_MANAGERS:
            continue
        if mgr not in out:
            out.append(mgr)
    return out


def cleanup_of(obj, keep_labels, remove_other_labels):
    """The labels and annotations another tool left on ``obj``: {labels: [...], annotations: [...]} (keys)."""
    meta = _meta(obj)
    ann = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    drop_ann = [k for k in FOREIGN_ANNOTATIONS if k in ann]
    drop_labels = [k for k in FOREIGN_LABELS if k in labels]
    if remove_other_labels:
        drop_labels += [k for k in labels if k not in keep_labels and k not in drop_labels]
    return {"labels": sorted(drop_labels), "annotations": sorted(drop_ann)}


def _pointer(key):
    """RFC 6901 escaping of one JSON pointer token."""
    return key.replace("~", "~0").replace("/", "~1")


def remove_ops(drop):
    """JSON patch (RFC 6902) removing the given label and annotation keys."""
    return ([{"op": "remove", "path": "/metadata/labels/" + _pointer(k)} for k in drop["labels"]]
            + [{"op": "remove", "path": "/metadata/annotations/" + _pointer(k)} for k in drop["annotations"]])


def _pod_spec(workload):
    return (((workload.get("spec") or {}).get("template") or {}).get("spec") or {})


def storage_claim(workload):
    """(claim name, volume name) of the volume mounted at /qdrant/storage, or (None, None)."""
    pod = _pod_spec(workload)
    vol_name = None
    for c in pod.get("containers") or []:
        for m in c.get("volumeMounts") or []:
            if m.get("mountPath", "").rstrip("/") == STORAGE_PATH:
                vol_name = m.get("name")
                break
        if vol_name:
            break
    if not vol_name:
        return None, None
    for v in pod.get("volumes") or []:
        if v.get("name") == vol_name and v.get("persistentVolumeClaim"):
            return v["persistentVolumeClaim"].get("claimName"), vol_name
    for vct in (workload.get("spec") or {}).get("volumeClaimTemplates") or []:
        if _meta(vct).get("name") == vol_name:
            # StatefulSet claims are <template>-<statefulset>-<ordinal>; Qdrant runs one replica: ordinal 0.
            return "%s-%s-0" % (vol_name, _meta(workload).get("name")), vol_name
    return None, vol_name


def claims_of(workload):
    """Every PVC name the pod template uses (volumes and, for a StatefulSet, ordinal 0 of its templates)."""
    out = [v["persistentVolumeClaim"].get("claimName") for v in _pod_spec(workload).get("volumes") or []
           if v.get("persistentVolumeClaim")]
    for vct in (workload.get("spec") or {}).get("volumeClaimTemplates") or []:
        out.append("%s-%s-0" % (_meta(vct).get("name"), _meta(workload).get("name")))
    return out


def _image(workload):
    for c in _pod_spec(workload).get("containers") or []:
        if "qdrant" in (c.get("image") or ""):
            return c.get("image")
    return None


def _is_qdrant_workload(workload, want, own_manager):
    """Ours by name, on our claim, or another tool's Qdrant (another instance of this collection is left alone)."""
    if _meta(workload).get("name") == want["name"] or want["claim"] in claims_of(workload):
        return True
    return _image(workload) is not None and (_meta(workload).get("labels") or {}).get(MANAGED_BY) != own_manager


def _workload_findings(w, want):
    """What differs between a running workload and ours: [(field, text)]; and what only its manager owns."""
    findings = []
    kind, name = w.get("kind"), _meta(w).get("name")
    spec = w.get("spec") or {}
    if kind != want["kind"]:
        findings.append(("kind", "is a %s; this collection runs a %s (a different kind cannot be updated in place)"
                         % (kind, want["kind"])))
    if name != want["name"]:
        findings.append(("metadata.name", "is another Qdrant workload (%s) next to qdrant_name=%s; two Qdrant "
                         "processes must never share one volume" % (name, want["name"])))
    sel = (spec.get("selector") or {})
    want_sel = {"matchLabels": want["selector"]}
    if kind == want["kind"] and name == want["name"] and _j(sel) != _j(want_sel):
        findings.append(("spec.selector", "is %s, this collection needs %s; spec.selector is immutable"
                         % (_j(sel.get("matchLabels") or sel), _j(want["selector"]))))
    strat = spec.get("strategy") or {}
    if kind == "Deployment" and strat.get("type") != "Recreate":
        findings.append(("spec.strategy", "is %s%s; Qdrant needs Recreate (two pods on one ReadWriteOnce volume "
                         "corrupt it), and an apply cannot drop a rollingUpdate it does not own"
                         % (strat.get("type") or "RollingUpdate",
                            " with rollingUpdate %s" % _j(strat["rollingUpdate"]) if strat.get("rollingUpdate") else "")))
    pod = _pod_spec(w)
    claim, vol = storage_claim(w)
    extra = [v.get("name") for v in pod.get("volumes") or []
             if v.get("persistentVolumeClaim") and v["persistentVolumeClaim"].get("claimName") == claim
             and v.get("name") != vol]
    if extra:
        findings.append(("spec.template.spec.volumes", "mounts claim %s also as %s (only the previous manager "
                         "owns these volumes)" % (claim, ", ".join(extra))))
    for c in pod.get("containers") or []:
        sc = c.get("securityContext") or {}
        if "runAsGroup" in sc and sc["runAsGroup"] != want["gid"]:
            findings.append(("spec.template.spec.containers[%s].securityContext.runAsGroup" % c.get("name"),
                             "is %s and overrides this collection's pod-level runAsGroup %s"
                             % (sc["runAsGroup"], want["gid"])))
    other = sorted(k for k in (_meta(w).get("labels") or {}) if k not in want["labels"])
    if other:
        findings.append(("metadata.labels", "carries labels this collection does not set: %s" % ", ".join(other)))
    return findings


def _ways_out(keys, want):
    lines = []
    for key in keys:
        if key.startswith("argocd:"):
            app = key.split(":", 1)[1]
            lines.append("Argo CD application %s syncs these objects: stop it first, or it recreates what this run "
                         "replaces: remove them from the application's source, or `argocd app delete %s "
                         "--cascade=false` (the objects keep running)." % (app, app))
        elif key.startswith("helm:"):
            _h, rns, rel = key.split(":", 2)
            lines.append("Helm release %s (namespace %s) owns these objects. Safest, before adopting: `helm uninstall "
                         "%s -n %s --keep-history`: it deletes the release's objects but not the claim of its "
                         "StatefulSet (claims made from volumeClaimTemplates are not part of a release) and keeps the "
                         "history for `helm rollback`. If you adopt while the release exists, do NOT run helm "
                         "uninstall afterwards (it would delete Service %s, now managed here); remove only the "
                         "release record: `kubectl -n %s delete secret -l owner=helm,name=%s`."
                         % (rel, rns, rel, rns, want["name"], rns, rel))
        elif key == "kubectl":
            lines.append("The objects were made with kubectl apply; nothing else needs stopping.")
    return lines


def qdrant_takeover_plan(want, deployments=None, statefulsets=None, services=None, others=None, own_manager="peekoff.qdrant"):
    """Compare what runs in the namespace with what the qdrant role applies; see qdrant_takeover_plan.yml."""
    if not isinstance(want, dict):
        raise AnsibleFilterError("peekoff.qdrant.qdrant_takeover_plan: the input must be a dict (name, namespace, kind, "
                                 "selector, labels, claim, gid)")
    for key in ("name", "namespace", "kind", "selector", "labels", "claim"):
        if key not in want:
            raise AnsibleFilterError("peekoff.qdrant.qdrant_takeover_plan: the input needs %s" % key)
    want = dict(want)
    want.setdefault("gid", 1000)
    adopt = bool(want.get("adopt"))
    conflicts, replace, cleanup, notes, ways = [], [], [], [], []
    claim_problems = []

    def add_way(key):
        if key not in ways:
            ways.append(key)

    workloads = [w for w in list(deployments or []) + list(statefulsets or []) if _is_qdrant_workload(w, want, own_manager)]
    for w in workloads:
        findings = _workload_findings(w, want)
        mgrs = managers_of(w)
        ours = _meta(w).get("labels", {}).get(MANAGED_BY) == own_manager
        if not findings and not mgrs and ours:
            continue
        if not findings and not mgrs and not ours:
            findings.append(("metadata.labels", "lacks %s=%s: not made by this collection" % (MANAGED_BY, own_manager)))
        for field, text in findings:
            conflicts.append("%s: %s %s" % (_ref(w), field, text))
        for desc, key in mgrs:
            conflicts.append("%s: managed by %s" % (_ref(w), desc))
            add_way(key)
        fm = field_managers(w, own_manager)
        if fm:
            notes.append("%s: field managers %s own fields of it" % (_ref(w), ", ".join(fm)))
        claim, _vol = storage_claim(w)
        if claim and claim != want["claim"]:
            claim_problems.append(
                "%s keeps Qdrant's data in PVC %s (mounted at %s), but qdrant_storage_pvc_name=%s: this run would "
                "create a second, empty volume next to it" % (_ref(w), claim, STORAGE_PATH, want["claim"]))
        replace.append({"apiVersion": w.get("apiVersion") or "apps/v1", "kind": w.get("kind"),
                        "name": _meta(w).get("name"), "namespace": _meta(w).get("namespace") or want["namespace"],
                        "uid": _meta(w).get("uid"), "claim": claim, "image": _image(w),
                        "selector": ((w.get("spec") or {}).get("selector") or {}).get("matchLabels"),
                        "strategy": ((w.get("spec") or {}).get("strategy")
                                     or (w.get("spec") or {}).get("updateStrategy")),
                        "reasons": [f + " " + t for f, t in findings] + ["managed by " + d for d, _k in mgrs]})

    for svc in services or []:
        if _meta(svc).get("name") != want["name"]:
            continue
        mgrs = managers_of(svc)
        sel = (svc.get("spec") or {}).get("selector") or {}
        if _j(sel) != _j(want["selector"]):
            conflicts.append("%s: spec.selector is %s, this collection's pods carry %s"
                             % (_ref(svc), _j(sel), _j(want["selector"])))
        for desc, key in mgrs:
            conflicts.append("%s: managed by %s" % (_ref(svc), desc))
            add_way(key)
        drop = cleanup_of(svc, want["labels"], True)
        if drop["labels"] or drop["annotations"]:
            cleanup.append({"apiVersion": "v1", "kind": "Service", "name": _meta(svc).get("name"),
                            "namespace": _meta(svc).get("namespace") or want["namespace"], "remove": drop,
                            "patch": remove_ops(drop)})

    for obj in others or []:
        if not obj:
            continue
        mgrs = managers_of(obj)
        for desc, key in mgrs:
            conflicts.append("%s: managed by %s" % (_ref(obj), desc))
            add_way(key)
        # Labels other tools put on a Namespace or a Secret may be in use (NetworkPolicies, External Secrets):
        # only the other manager's tracking marks go, except on the PVC, which is ours alone after takeover.
        drop = cleanup_of(obj, want["labels"], obj.get("kind") == "PersistentVolumeClaim")
        if drop["labels"] or drop["annotations"]:
            cleanup.append({"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": _meta(obj).get("name"),
                            "namespace": _meta(obj).get("namespace") or None, "remove": drop,
                            "patch": remove_ops(drop)})

    refuse = (bool(conflicts) and not adopt) or bool(claim_problems)
    message = ""
    if refuse:
        lines = ["Refusing to take over what runs in namespace %s (nothing was changed):" % want["namespace"]]
        lines += ["- " + c for c in conflicts + claim_problems]
        lines.append("Way out:")
        lines += ["- " + w for w in _ways_out(ways, want)]
        if claim_problems:
            lines.append("- Name the claim that holds the data: -e qdrant_storage_pvc_name=%s."
                         % " / ".join(sorted(set(r["claim"] for r in replace if r["claim"]))))
        if conflicts and not adopt:
            lines.append("- Then rerun with -e qdrant_adopt=true: %s; the PVC and its data are kept, labels and "
                         "annotations of the previous manager are removed. Preview it first with --check --diff."
                         % ("; ".join("%s %s is deleted (its pods stop first) and this collection's %s %s is created "
                                      "on the same claim" % (r["kind"], r["name"], want["kind"], want["name"])
                                      for r in replace) or "nothing is replaced"))
        message = "\n".join(lines)
    report = []
    for r in replace:
        report.append("replace %s %s/%s (uid %s, image %s, selector %s, claim %s kept): %s"
                      % (r["kind"], r["namespace"], r["name"], r["uid"], r["image"], _j(r["selector"]), r["claim"],
                         "; ".join(r["reasons"])))
    for c in cleanup:
        report.append("remove from %s %s: labels %s, annotations %s"
                      % (c["kind"], c["name"], c["remove"]["labels"] or "-", c["remove"]["annotations"] or "-"))
    return {"conflicts": conflicts, "replace": replace, "cleanup": cleanup if conflicts or adopt else [],
            "notes": notes, "refuse": refuse, "message": message, "report": report,
            "ways_out": _ways_out(ways, want)}


def _parents(route):
    ns = _meta(route).get("namespace")
    return set((r.get("namespace") or ns, r.get("name")) for r in (route.get("spec") or {}).get("parentRefs") or []
               if (r.get("kind") or "Gateway") == "Gateway")


def qdrant_route_rivals(routes, own, hostnames, parent_refs):
    """Routes other than ``own`` ({namespace, name}) that claim one of ``hostnames`` on one of the Gateways of
    ``parent_refs``: [{namespace, name, hostnames, gateways}]."""
    ours = set((r.get("namespace") or own["namespace"], r.get("name")) for r in parent_refs or [])
    out = []
    for route in routes or []:
        meta = _meta(route)
        if meta.get("namespace") == own["namespace"] and meta.get("name") == own["name"]:
            continue
        shared_hosts = sorted(set((route.get("spec") or {}).get("hostnames") or []) & set(hostnames or []))
        shared_gws = sorted(_parents(route) & ours)
        if shared_hosts and shared_gws:
            out.append({"namespace": meta.get("namespace"), "name": meta.get("name"), "hostnames": shared_hosts,
                        "gateways": ["%s/%s" % g for g in shared_gws]})
    return out


class FilterModule(object):
    def filters(self):
        return {"qdrant_takeover_plan": qdrant_takeover_plan, "qdrant_route_rivals": qdrant_route_rivals}

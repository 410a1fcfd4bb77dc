"""Check the directory the roles rendered (qdrant_render_dir) in a molecule scenario:

- every file holds one object, starts with the managed-by comment, and kustomization.yaml lists them all;
- no file is a Secret (the kubernetes backend's Secret goes to qdrant_render_secret_path, outside the directory);
- every object validates: built-in kinds against the Kubernetes OpenAPI schemas (kubernetes-validate),
  HTTPRoute/GRPCRoute/ExternalSecret against the served version of the pinned CRDs;
- every rendered object is contained in the object the same roles applied to the cluster (the live
  object may only add server defaults and status), apart from values that depend on the key: the
  Secret's data and the key checksum annotation (the rendered Secret has its own key).

Usage: check_render.py RENDER_DIR   (cluster from K8S_AUTH_KUBECONFIG)
"""
import os
import sys

import jsonschema
import kubernetes
import kubernetes_validate
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
import crds  # noqa: E402  (tests/support/crds.py: the CRD directory, never a silent skip)

K8S_VERSION = "1.33.0"
CRD_FILES = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_httproutes.yaml",
    ("gateway.networking.k8s.io/v1", "GRPCRoute"): "gateway.networking.k8s.io_grpcroutes.yaml",
    ("external-secrets.io/v1", "ExternalSecret"): "external-secrets.io_externalsecrets.yaml",
}
KEY_DEPENDENT = [("Secret", ("data",)),
                 ("Deployment", ("spec", "template", "metadata", "annotations", "peekoff.qdrant/api-key-checksum"))]


def validate(obj):
    key = (obj["apiVersion"], obj["kind"])
    if key in CRD_FILES:
        with open(os.path.join(crds.crd_dir(), CRD_FILES[key])) as f:
            crd = yaml.safe_load(f)
        (version,) = [v for v in crd["spec"]["versions"] if v["name"] == key[0].split("/")[1] and v["served"]]
        jsonschema.validate(obj, version["schema"]["openAPIV3Schema"])
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def contained(want, have, path="") -> list:
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [f"{path}: live is {type(have).__name__}"]
        out = []
        for k, v in want.items():
            if k not in have:
                out.append(f"{path}.{k}: missing in the live object")
            else:
                out += contained(v, have[k], f"{path}.{k}")
        return out
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return [f"{path}: rendered {want!r} != live {have!r}"]
        if all(isinstance(x, dict) and "name" in x for x in want + have):
            # Associative lists (env, ports, volumes, containers): merged by name, order is not meaning.
            have_by_name = {x["name"]: x for x in have}
            return [p for w in want for p in (contained(w, have_by_name[w["name"]], f"{path}[{w['name']}]")
                                              if w["name"] in have_by_name else [f"{path}[{w['name']}]: missing"])]
        return [p for i, (w, h) in enumerate(zip(want, have)) for p in contained(w, h, f"{path}[{i}]")]
    return [] if want == have or str(want) == str(have) else [f"{path}: rendered {want!r} != live {have!r}"]


def drop(obj, keys):
    for k in keys[:-1]:
        obj = obj.get(k) or {}
    obj.pop(keys[-1], None)


def main(render_dir):
    client = kubernetes.dynamic.DynamicClient(
        kubernetes.config.new_client_from_config(config_file=os.environ["K8S_AUTH_KUBECONFIG"]))
    files = sorted(f for f in os.listdir(render_dir) if f.endswith(".yaml") and f != "kustomization.yaml")
    with open(os.path.join(render_dir, "kustomization.yaml")) as f:
        listed = yaml.safe_load(f)["resources"]
    problems = [] if listed == files else [f"kustomization.yaml lists {listed}, directory has {files}"]
    for name in files:
        with open(os.path.join(render_dir, name)) as f:
            text = f.read()
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        if len(docs) != 1 or not text.startswith("# Managed by Ansible"):
            problems.append(f"{name}: not one object with the managed-by comment")
            continue
        obj = docs[0]
        if obj["kind"] == "Secret":
            problems.append(f"{name}: a Secret (a key) in the render directory, which is meant for Git")
        try:
            validate(obj)
        except Exception as exc:  # report every file, not just the first
            problems.append(f"{name}: invalid: {exc}")
        api = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        try:
            live = api.get(name=obj["metadata"]["name"], namespace=obj["metadata"].get("namespace")).to_dict()
        except kubernetes.dynamic.exceptions.NotFoundError:
            problems.append(f"{name}: rendered but not in the cluster")
            continue
        for kind, keys in KEY_DEPENDENT:
            if obj["kind"] == kind:
                drop(obj, keys)
                drop(live, keys)
        problems += [f"{name}: {p}" for p in contained(obj, live)]
    for p in problems:
        print(p)
    print(f"{len(files)} rendered objects checked, {len(problems)} problems")
    return 1 if problems or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""peekoff.qdrant.qdrant_render (render mode in one controller-side step): the bytes, stale removal, the changed
flag, check mode, diff and the refusal of a Secret. The playbook runs are in tests/pytest/test_roles_render.py and
tests/pytest/test_gitops.py."""
import os
import stat
from types import SimpleNamespace

import pytest
import yaml

from ansible.errors import AnsibleActionFail
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.filter.core import to_nice_yaml

from ansible_collections.peekoff.qdrant.plugins.action.qdrant_render import ActionModule, SECRET_REFUSED

HEADER = "# Managed by Ansible (peekoff.qdrant); rendered from the role templates, do not edit by hand.\n"
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "qdrant", "namespace": "qdrant", "labels": {"z": "1", "a": "2"}},
              "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "qdrant", "args": ["--x", "ü"]}]}}}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "qdrant"}, "spec": {"ports": [{"port": 6333}]}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "qdrant-api-key"},
          "data": {"QDRANT__SERVICE__API_KEY": "c2VjcmV0LWtleS12YWx1ZQ=="}}


def run(args, check=False, diff=False):
    task = Task()
    task.action = "peekoff.qdrant.qdrant_render"
    task.args = dict(args)
    task.check_mode = check
    task.diff = diff
    # No connection is used (the work is in-process); ActionBase.run only looks at the shell's tmpdir.
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir=None))
    action = ActionModule(task, connection=connection, play_context=PlayContext(), loader=None, templar=None,
                          shared_loader_obj=None)
    return action.run(task_vars={})


def render(directory, objects, kinds=("deployment", "service"), **kw):
    return run({"dir": str(directory), "objects": objects, "owned_kinds": list(kinds), "header": HEADER}, **kw)


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_bytes_are_the_former_copy_tasks_and_kustomization_lists_every_file(tmp_path):
    out = tmp_path / "a" / "render"
    (tmp_path / "a").mkdir()
    result = render(out, [DEPLOYMENT, SERVICE])
    assert result["changed"] is True
    # The former task: content "{{ header }}{{ item | to_nice_yaml(indent=2, sort_keys=false) }}", mode 0644.
    assert (out / "deployment-qdrant.yaml").read_text() == HEADER + to_nice_yaml(DEPLOYMENT, indent=2, sort_keys=False)
    assert (out / "deployment-qdrant.yaml").read_text().startswith(HEADER + "apiVersion: apps/v1\nkind: Deployment\n")
    assert "  labels:\n    z: '1'\n    a: '2'\n" in (out / "deployment-qdrant.yaml").read_text()  # key order kept
    assert mode(out / "service-qdrant.yaml") == 0o644 and mode(out) == 0o755
    assert (out / "kustomization.yaml").read_text() == HEADER + (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n- deployment-qdrant.yaml\n- service-qdrant.yaml\n")
    assert sorted(result["written"]) == sorted(str(out / n) for n in
                                               ("deployment-qdrant.yaml", "service-qdrant.yaml", "kustomization.yaml"))


def test_second_render_is_unchanged_and_a_mode_drift_is_a_change(tmp_path):
    render(tmp_path, [DEPLOYMENT, SERVICE])
    again = render(tmp_path, [DEPLOYMENT, SERVICE])
    assert again["changed"] is False and again["written"] == [] and again["removed"] == []
    os.chmod(str(tmp_path / "service-qdrant.yaml"), 0o600)
    fixed = render(tmp_path, [DEPLOYMENT, SERVICE])
    assert fixed["changed"] is True and fixed["written"] == [str(tmp_path / "service-qdrant.yaml")]
    assert mode(tmp_path / "service-qdrant.yaml") == 0o644


def test_stale_files_of_owned_kinds_go_and_other_files_stay_listed(tmp_path):
    render(tmp_path, [DEPLOYMENT, SERVICE])
    (tmp_path / "httproute-qdrant.yaml").write_text("another role's\n")
    (tmp_path / ".hidden.yaml").write_text("not listed\n")
    (tmp_path / "notes.txt").write_text("not listed\n")
    os.symlink(str(tmp_path / "notes.txt"), str(tmp_path / "link.yaml"))  # find lists regular files only
    result = render(tmp_path, [DEPLOYMENT])
    assert result["changed"] is True
    assert result["removed"] == [str(tmp_path / "service-qdrant.yaml")]
    assert not (tmp_path / "service-qdrant.yaml").exists()
    assert (tmp_path / "httproute-qdrant.yaml").exists()
    kustomization = yaml.safe_load((tmp_path / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["deployment-qdrant.yaml", "httproute-qdrant.yaml"]
    # Nothing to render any more (qdrant_state absent): every owned file goes.
    render(tmp_path, [])
    assert yaml.safe_load((tmp_path / "kustomization.yaml").read_text())["resources"] == ["httproute-qdrant.yaml"]


def test_check_mode_writes_nothing_and_predicts_the_real_run(tmp_path):
    render(tmp_path, [DEPLOYMENT, SERVICE])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    changed = dict(DEPLOYMENT, spec={"replicas": 2})
    predicted = render(tmp_path, [changed], check=True, diff=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert predicted["changed"] is True
    real = render(tmp_path, [changed], diff=True)
    assert (predicted["written"], predicted["removed"], predicted["diff"]) == (real["written"], real["removed"], real["diff"])
    assert render(tmp_path, [changed], check=True)["changed"] is False
    fresh = tmp_path / "new"
    assert render(fresh, [SERVICE], check=True)["changed"] is True and not fresh.exists()


def test_diff_shows_each_file_before_and_after(tmp_path):
    render(tmp_path, [DEPLOYMENT, SERVICE])
    result = render(tmp_path, [dict(DEPLOYMENT, spec={"replicas": 2})], diff=True)
    by_file = {d["after_header"]: d for d in result["diff"]}
    entry = by_file[str(tmp_path / "deployment-qdrant.yaml")]
    assert "replicas: 1" in entry["before"] and "replicas: 2" in entry["after"]
    assert by_file[str(tmp_path / "service-qdrant.yaml")]["after"] == ""  # removed
    assert "- service-qdrant.yaml" in by_file[str(tmp_path / "kustomization.yaml")]["before"]
    assert "diff" not in render(tmp_path, [DEPLOYMENT])


def test_a_secret_among_the_objects_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "render"
    with pytest.raises(AnsibleActionFail, match="A Secret is never written into qdrant_render_dir") as err:
        render(out, [DEPLOYMENT, SECRET])
    assert str(err.value.message) == SECRET_REFUSED
    assert not out.exists()


def test_the_secret_file_is_owner_readable_and_never_in_the_diff(tmp_path):
    path = tmp_path / "secret.yaml"
    args = {"secret_path": str(path), "secret_object": SECRET, "header": HEADER}
    result = run(args, diff=True)
    assert result["changed"] is True and result["written"] == [str(path)]
    assert path.read_text() == HEADER + to_nice_yaml(SECRET, indent=2, sort_keys=False)
    assert mode(path) == 0o600
    assert "c2VjcmV0" not in repr(result)
    assert run(args)["changed"] is False
    other = dict(SECRET, data={"QDRANT__SERVICE__API_KEY": "bmV3LWtleQ=="})
    changed = run(dict(args, secret_object=other), check=True, diff=True)
    assert changed["changed"] is True and "bmV3" not in repr(changed) and "c2VjcmV0" not in repr(changed)
    assert "c2VjcmV0" in path.read_text()  # check mode wrote nothing
    with pytest.raises(AnsibleActionFail, match="secret_object must be a Secret"):
        run(dict(args, secret_object=DEPLOYMENT))

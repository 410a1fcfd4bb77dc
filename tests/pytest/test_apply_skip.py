"""Issue 11, point 4: a re-run writes only what differs from what is live (roles/common/tasks/apply.yml with the
qdrant_apply_plan filter), against the Kubernetes API emulator, which records every request and keeps
metadata.managedFields the way kube-apiserver does (tests/support/kube_emulator/managed.py).

- a re-run that changes nothing sends no write request at all (no PATCH, also none for the hidden Secret, and no
  DELETE for switched-off objects that do not exist);
- after one variable changes (qdrant_log_level) only the object it renders into is written;
- a field our manager applied earlier and the templates no longer render (an extra label) is still removed: the
  object is applied because our managedFields entry owns more than the rendered fields.
"""
import json

from kubernetes import config as kube_config
from kubernetes import dynamic

NS = "qdrant"
MANAGER = "peekoff.qdrant"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _writes(cluster):
    """Write requests to the API's objects (the service proxy goes to Qdrant: qdrant_check's probe)."""
    return sorted((m, p) for m, p, q in list(cluster.emu.requests)
                  if m in WRITE_METHODS and "/proxy/" not in p)


def _changed_tasks(run):
    return "\n".join(line for line in run.output.splitlines() if line.startswith(("changed:", "TASK [")))


def _task_results(run):
    """(task name, first result word) for every task of the run, in order."""
    out, task = [], None
    for line in run.output.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.rindex("]")]
        elif task and line.split(":", 1)[0] in ("ok", "changed", "skipping", "included", "fatal"):
            out.append((task, line.split(":", 1)[0]))
            task = None
    return out


def test_rerun_writes_nothing_then_only_what_changed(make_local_cluster):
    cluster = make_local_cluster()
    first = cluster.run()
    assert first.rc == 0, first.tail()
    assert ("PATCH", "/apis/apps/v1/namespaces/qdrant/deployments/qdrant") in _writes(cluster)

    # A re-run that changes nothing: no write request (the first converge wrote every object with a PATCH).
    cluster.emu.reset_requests()
    again = cluster.run()
    assert again.rc == 0, again.tail()
    assert again.recap["changed"] == 0, again.recap
    assert _writes(cluster) == [], _writes(cluster)
    assert cluster.emu.count_requests(method="PATCH") == 0
    # site.yml reads the cluster once per converge, in one task (the qdrant role's preflight in the first play reads
    # what every role reads: roles/qdrant/tasks/state.yml); each object or list is read once.
    gets = [p for m, p, q in list(cluster.emu.requests) if m == "GET" and "/proxy/" not in p]
    assert sorted(set(gets)) == sorted(gets), gets
    reads = [result for task, result in _task_results(again) if task.endswith("Read | Read what this role needs "
                                                                              "from the cluster and this converge has "
                                                                              "not read yet (values hidden)")]
    assert reads.count("ok") == 1 and set(reads) == {"ok", "skipping"}, reads

    # One variable changed: only the Deployment it renders into is written.
    cluster.emu.reset_requests()
    debug = cluster.run("-e", "qdrant_log_level=DEBUG")
    assert debug.rc == 0, debug.tail()
    assert _writes(cluster) == [("PATCH", "/apis/apps/v1/namespaces/qdrant/deployments/qdrant")], _writes(cluster)
    env = cluster.get("apps/v1", "Deployment", "qdrant")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "QDRANT__LOG_LEVEL", "value": "DEBUG"} in env, env
    assert debug.recap["changed"] >= 1, _changed_tasks(debug)


def test_field_no_longer_rendered_is_still_removed(make_local_cluster):
    cluster = make_local_cluster()
    first = cluster.run()
    assert first.rc == 0, first.tail()
    # Simulate a template that rendered one more label before: apply (as our manager, over the wire) what the
    # converge applied plus that label, so that our managedFields entry owns it.
    applied = cluster.emu.cluster.applied[("", "services", NS, "qdrant")][MANAGER]
    config = json.loads(json.dumps(applied))
    config["metadata"]["labels"]["example.com/dropped"] = "yes"
    client = dynamic.DynamicClient(kube_config.new_client_from_config(cluster.kubeconfig))
    services = client.resources.get(api_version="v1", kind="Service")
    client.server_side_apply(services, body=config, name="qdrant", namespace=NS, field_manager=MANAGER,
                             force_conflicts=True)
    live = cluster.get("v1", "Service", "qdrant")
    assert live["metadata"]["labels"]["example.com/dropped"] == "yes"
    ours = [m for m in live["metadata"]["managedFields"] if m["manager"] == MANAGER]
    assert "f:example.com/dropped" in ours[0]["fieldsV1"]["f:metadata"]["f:labels"], ours

    cluster.emu.reset_requests()
    run = cluster.run()
    assert run.rc == 0, run.tail()
    assert _writes(cluster) == [("PATCH", "/api/v1/namespaces/qdrant/services/qdrant")], _writes(cluster)
    live = cluster.get("v1", "Service", "qdrant")
    assert "example.com/dropped" not in live["metadata"]["labels"], live["metadata"]["labels"]
    assert run.recap["changed"] >= 1, _changed_tasks(run)


STANDALONE_TWICE = """---
- name: A role used on its own, twice in one playbook, with a change by someone else in between
  hosts: localhost
  gather_facts: false
  tasks:
    - name: First include
      ansible.builtin.include_role:
        name: peekoff.qdrant.gateway_routes
    - name: Someone else deletes the HTTPRoute
      kubernetes.core.k8s:
        state: absent
        api_version: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        namespace: qdrant
        name: qdrant
    - name: Second include, with other variables
      ansible.builtin.include_role:
        name: peekoff.qdrant.gateway_routes
      vars:
        qdrant_hostnames: "{{ second_hostnames | default(['qdrant.peekoff.com']) }}"
"""


def test_second_include_of_a_role_reads_and_checks_again(make_local_cluster, tmp_path):
    """A converge is one include of a role used on its own (roles/common/tasks/converge.yml): the second include does
    not reuse the first one's reads (the route deleted in between is applied again, not skipped as unchanged) nor its
    variable checks (a bad hostname given only to the second include is refused)."""
    cluster = make_local_cluster()
    playbook = tmp_path / "twice.yml"
    playbook.write_text(STANDALONE_TWICE)
    first = cluster.run(playbook=str(playbook))
    assert first.rc == 0, first.tail()
    # Again: the first include finds the route as it renders it (no write); the second one must not take that read
    # for the route deleted since.
    cluster.emu.reset_requests()
    again = cluster.run(playbook=str(playbook))
    assert again.rc == 0, again.tail()
    assert cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "qdrant") is not None, again.tail()
    route = "/apis/gateway.networking.k8s.io/v1/namespaces/qdrant/httproutes/qdrant"
    assert [m for m, p, q in list(cluster.emu.requests) if p == route and m != "GET"] == ["DELETE", "PATCH"]

    bad = cluster.run("-e", '{"second_hostnames": ["Not A Hostname"]}', playbook=str(playbook))
    assert bad.rc != 0, bad.tail()
    assert "qdrant_hostnames" in bad.output and "Not A Hostname" in bad.output, bad.tail()

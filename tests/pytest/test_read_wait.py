"""The qdrant role's wait for the workload (roles/qdrant/tasks/wait.yml): no kubernetes.core.k8s_info module call
(and no wait phase at all) when the live read shows the Deployment rolled out, by the conditions of kubernetes.core's own wait
(plugins/module_utils/k8s/waiter.py deployment_ready: observedGeneration == generation, status replicas ==
available replicas == spec replicas, no unavailable replicas; and updated replicas == replicas); the module waits
as before when the read shows it is not."""
import re

WAIT_TASK = "Qdrant | Wait for the Deployment to be available"


def _wait_section(output):
    """What the default callback printed for the wait task (up to the next task or the recap)."""
    m = re.search(r"TASK \[[^\]]*" + re.escape(WAIT_TASK) + r"\][^\n]*\n(.*?)(?=\nTASK \[|\nPLAY RECAP)", output, re.S)
    assert m, "the wait task did not run:\n" + output[-3000:]
    return m.group(1).strip()


def test_wait_makes_no_module_call_when_rolled_out_and_waits_when_not(make_local_cluster):
    cluster = make_local_cluster()
    first = cluster.run()
    assert first.rc == 0, first.tail()

    # Rolled out (the emulator's controller has marked it available): the re-run makes no module call; the wait phase
    # is not even included (roles/qdrant/tasks/main.yml, _qdrant_workload_rolled_out).
    rerun = cluster.run()
    assert rerun.rc == 0, rerun.tail()
    phase = re.search(r"TASK \[[^\]]*Qdrant \| Wait for Qdrant to be available\][^\n]*\n([^\n]*)", rerun.output)
    assert phase and phase.group(1).startswith("skipping:"), rerun.tail()
    assert WAIT_TASK not in rerun.output, rerun.tail()

    # One replica unavailable and no controller to bring it back: the read shows it not rolled out, so the module
    # waits, and fails at qdrant_wait_timeout as before.
    cluster.emu.auto_ready = False
    cluster.emu.set_status("apps/v1", "Deployment", "qdrant", "qdrant",
                           {"availableReplicas": 0, "unavailableReplicas": 1, "readyReplicas": 0})
    stuck = cluster.run("-e", "qdrant_wait_timeout=3")
    assert stuck.rc != 0, stuck.tail()
    assert "fatal: [localhost]: FAILED!" in _wait_section(stuck.output), stuck.tail()
    assert re.search(r"Failed to gather information about Deployment\(s\) even after waiting for \d+ seconds",
                     stuck.output), stuck.tail()

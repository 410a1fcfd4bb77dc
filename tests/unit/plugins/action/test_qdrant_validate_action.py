"""peekoff.qdrant.qdrant_validate (a role's variable checks and the converge's note in one task): the argument spec
check as ansible.builtin.validate_argument_spec makes it, the checks across variables of the filter, templated values,
the note, and no key value in a message. The playbook runs are in tests/pytest (test_roles_render.py,
test_reliability_bad_input.py)."""
import os
from types import SimpleNamespace

import pytest
import yaml

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar, trust_as_template
# The worker's task context, in which an action records the variables it sets (as set_fact does).
from ansible._internal._task import PendingChanges, TaskContext, VariableLayer

from ansible_collections.peekoff.qdrant.plugins.action.qdrant_validate import ActionModule

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
STORAGE_VARIABLES = ["qdrant_namespace", "qdrant_name", "qdrant_storage_pvc_name", "qdrant_storage_size",
                     "qdrant_storage_class", "qdrant_render_dir", "qdrant_replicas"]


def _role_vars(role, **overrides):
    """The role's defaults as a task of the role sees them (templates stay templates until used), plus overrides."""
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
        variables = yaml.safe_load(handle)
    variables = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in variables.items()}
    variables.update(overrides)
    variables["role_path"] = os.path.join(ROOT, "roles", role)
    return variables


def run(role, variables, task_vars):
    task = Task()
    task.action = "peekoff.qdrant.qdrant_validate"
    task.args = {"role": role, "variables": variables, "note": "%s|qdrant|||qdrant" % role}
    loader = DataLoader()
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir=None))
    action = ActionModule(task, connection=connection, play_context=PlayContext(), loader=loader,
                          templar=Templar(loader=loader, variables=task_vars), shared_loader_obj=None)
    with TaskContext.create(task, dict(task_vars), "localhost") as ctx:
        ctx.pending_changes = PendingChanges()
        result = action.run(task_vars=task_vars)
    layers = ctx.pending_changes.register_host_variables
    # Set as ansible.builtin.set_fact sets facts: for this run only, never into a fact cache.
    assert layers.get(VariableLayer.CACHEABLE_FACT, {}) == {}
    result["_set"] = layers.get(VariableLayer.EPHEMERAL_FACT)
    return result


def test_valid_defaults_pass_and_are_noted_after_the_earlier_notes():
    result = run("storage", STORAGE_VARIABLES, _role_vars("storage", __qdrant_validated=["secrets|qdrant|||qdrant"]))
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["ansible_facts"] == {"__qdrant_validated": ["secrets|qdrant|||qdrant", "storage|qdrant|||qdrant"]}
    assert result["_set"] == result["ansible_facts"]


def test_templated_values_are_checked_as_the_task_sees_them():
    # qdrant_storage_size given as a template of another variable, as a user's inventory might.
    variables = _role_vars("storage", qdrant_storage_size=trust_as_template("{{ my_size }}"), my_size="lots")
    result = run("storage", STORAGE_VARIABLES, variables)
    assert result["failed"] is True
    assert 'qdrant_storage_size="lots"' in result["msg"]
    assert "ansible_facts" not in result and not result["_set"], "nothing is noted when a check fails"


def test_the_argument_spec_is_checked_first_with_validate_argument_spec_s_message():
    result = run("storage", STORAGE_VARIABLES, _role_vars("storage", qdrant_replicas="abc"))
    assert result["failed"] is True
    assert result["msg"].startswith("Validation of arguments failed:\n")
    assert "argument 'qdrant_replicas' is of type str and we were unable to convert to int" in result["msg"]
    # What -e gives (a string) converts as the spec's type says.
    assert not run("storage", STORAGE_VARIABLES, _role_vars("storage", qdrant_replicas="3")).get("failed")


def test_a_weak_key_is_refused_without_showing_it():
    names = ["qdrant_namespace", "qdrant_api_key_secret_name", "qdrant_secret_store", "qdrant_api_key_secret_key",
             "qdrant_read_only_api_key_secret_key", "qdrant_secret_backend", "qdrant_secret_refresh_interval",
             "qdrant_secret_remote_key", "qdrant_secret_read_only_remote_key", "qdrant_api_key",
             "qdrant_read_only_api_key", "qdrant_api_key_length", "qdrant_render_dir", "qdrant_render_secret_path",
             "qdrant_state"]
    result = run("secrets", names, _role_vars("secrets", qdrant_api_key="Sh0rtK3yValue", qdrant_secret_backend="kubernetes"))
    assert result["failed"] is True and "qdrant_api_key" in result["msg"]
    assert "Sh0rtK3yValue" not in repr(result)


def test_an_undefined_variable_or_unknown_role_is_a_usage_error():
    with pytest.raises(AnsibleActionFail, match="variables not defined: qdrant_nope"):
        run("storage", STORAGE_VARIABLES + ["qdrant_nope"], _role_vars("storage"))
    with pytest.raises(AnsibleActionFail, match="role must be one of"):
        run("nope", STORAGE_VARIABLES, _role_vars("storage"))

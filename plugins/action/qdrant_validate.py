# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of peekoff.qdrant.qdrant_validate: a role's variable checks and the converge's note, in one step.

It replaces each role's former two tasks (an assert on the filter peekoff.qdrant.qdrant_validation_errors, then a
set_fact noting the role as validated) and site.yml's former ansible.builtin.validate_argument_spec task:
  1. the role's meta/argument_specs.yml (entry point main), checked as ansible.builtin.validate_argument_spec checks
     it (ansible/plugins/action/validate_argument_spec.py: the spec's variables as the task sees them, templated,
     through ArgumentSpecValidator with validate_role_argument_spec=True, and the same message);
  2. the filter's checks (plugins/filter/qdrant_validate.py) on the variables named in ``variables``, templated as
     a task's ``{{ name }}`` would be, so that a worker compiles no large Jinja expression.

Everything happens on the controller; no module is sent to a managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_validate import ROLES, qdrant_validation_errors
from ansible_collections.peekoff.qdrant.plugins.plugin_utils.facts import set_facts

NOTE_FACT = "__qdrant_validated"


class ActionModule(ActionBase):
    """See plugins/modules/qdrant_validate.py for the options."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("role", "variables", "note"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self._task.args
        role = args.get("role")
        names = args.get("variables") or []
        note = args.get("note") or ""
        if role not in ROLES:
            raise AnsibleActionFail("role must be one of %s, not %r" % (", ".join(sorted(ROLES)), role))
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise AnsibleActionFail("variables must be a list of variable names")
        if not isinstance(note, str):
            raise AnsibleActionFail("note must be a string")
        task_vars = task_vars or {}
        spec_errors = self._argument_spec_errors(task_vars)
        if spec_errors:
            result.update(failed=True, changed=False, argument_errors=spec_errors,
                          msg="Validation of arguments failed:\n%s" % "\n".join(spec_errors))
            return result
        undefined = [name for name in names if name not in task_vars]
        if undefined:
            raise AnsibleActionFail("variables not defined: %s" % ", ".join(undefined))
        values = self._templar.template({name: task_vars[name] for name in names})
        errors = qdrant_validation_errors(values, role)
        if errors:
            result.update(failed=True, changed=False, msg="\n".join(errors))
            return result
        result["changed"] = False
        if note:
            noted = list(task_vars.get(NOTE_FACT) or [])
            if note not in noted:
                noted.append(note)
            set_facts(self, result, {NOTE_FACT: noted})
        return result

    def _argument_spec_errors(self, task_vars):
        """The messages of ansible.builtin.validate_argument_spec for the calling role's entry point main."""
        role_path = task_vars.get("role_path")
        if not role_path:
            raise AnsibleActionFail("qdrant_validate runs in a task of a peekoff.qdrant role (role_path is not set)")
        # The role's own file, which loading the role already parsed (the loader's cache holds it).
        specs = self._loader.load_from_file(os.path.join(role_path, "meta", "argument_specs.yml"))
        spec = ((specs or {}).get("argument_specs") or {}).get("main", {}).get("options") or {}
        provided = self._templar.template({name: task_vars[name] for name in spec if name in task_vars})
        return ArgumentSpecValidator(spec).validate(provided, validate_role_argument_spec=True).error_messages

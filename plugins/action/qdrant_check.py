# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of peekoff.qdrant.qdrant_check: lets ``module_defaults`` for ``group/kubernetes.core.k8s`` reach
the Kubernetes connection options nested in ``kubernetes_proxy``.

Why not ``action_groups`` with ``metadata: extend_group: [kubernetes.core.k8s]`` in meta/runtime.yml: that would
hand the group's options to qdrant_check at the TOP level, where ``api_key`` is Qdrant's key and ``validate_certs``
is about Qdrant's URL (a Kubernetes token would be sent to Qdrant as its key), and every other group option
(``kubeconfig``, ``host``, ...) would be refused as unsupported, failing the task (kubernetes.core's own
meta/runtime.yml warns that a module in the group must accept all of AUTH_ARG_SPEC).

Here, only the connection options (kubernetes.core's ``AUTH_ARG_SPEC`` keys and their aliases) of the group's
defaults are copied, templated, into ``kubernetes_proxy``, and only where the task (or ``module_defaults`` of
qdrant_check or ``group/peekoff.qdrant.qdrant``, which Ansible has already merged into the task's args) did not set
them. Tasks with ``url`` are passed on untouched. Values set by the task always win.

The group's defaults are read from ``self._task.module_defaults`` (the list of dicts whose group keys Ansible has
normalised to ``group/<collection>.<group>``, ansible-core playbook/base.py ``_load_module_defaults``) and merged in
order, later entries winning, as ansible-core's executor/module_common.py ``_get_action_arg_defaults`` merges them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

K8S_GROUP = "group/kubernetes.core.k8s"


def _connection_options():
    """{option or alias: canonical option} of kubernetes.core's AUTH_ARG_SPEC."""
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

    names = {}
    for name, spec in AUTH_ARG_SPEC.items():
        names[name] = name
        for alias in spec.get("aliases") or []:
            names[alias] = name
    return names


def group_connection_defaults(module_defaults):
    """The connection options in the ``group/kubernetes.core.k8s`` entries of a task's module_defaults (not
    templated), keyed by canonical option name; other keys (``namespace``, ``wait``...) are left out."""
    merged = {}
    for entry in module_defaults or []:
        if isinstance(entry, dict) and isinstance(entry.get(K8S_GROUP), dict):
            merged.update(entry[K8S_GROUP])
        elif isinstance(entry, dict) and entry.get(K8S_GROUP) is not None:
            merged["__template__"] = entry[K8S_GROUP]  # a whole-dict template, resolved by the caller
    return merged


def fill_kubernetes_proxy(proxy, defaults):
    """A copy of ``proxy`` with the connection options of ``defaults`` (templated) it does not set itself."""
    names = _connection_options()
    filled = dict(proxy)
    already = set(names[k] for k, v in proxy.items() if k in names and v is not None)
    for key, value in defaults.items():
        canonical = names.get(key)
        if canonical is None or canonical in already or value is None:
            continue
        filled[canonical] = value
        already.add(canonical)
    return filled


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def _k8s_group_defaults(self):
        raw = group_connection_defaults(self._task.module_defaults)
        whole = raw.pop("__template__", None)
        resolved = {}
        if whole is not None:
            value = self._templar.template(whole)
            if not isinstance(value, dict):
                raise AnsibleActionFail("module_defaults for %s must be a dictionary" % K8S_GROUP)
            resolved.update(value)
        resolved.update(self._templar.template(raw) if raw else {})
        return resolved

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        module_args = copy.deepcopy(self._task.args)
        proxy = module_args.get("kubernetes_proxy")
        if isinstance(proxy, dict):
            defaults = self._k8s_group_defaults()
            if defaults:
                module_args["kubernetes_proxy"] = fill_kubernetes_proxy(proxy, defaults)

        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(module_name="peekoff.qdrant.qdrant_check", module_args=module_args,
                                           task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

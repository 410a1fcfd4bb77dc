# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller-side helpers shared by the collection's action plugins (qdrant_render, qdrant_validate)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:  # ansible-core >= 2.20: the variable layers set_fact itself uses
    from ansible.plugins.action import VariableLayer
except ImportError:  # pragma: no cover - older ansible-core: facts returned in the result
    VariableLayer = None


def set_facts(action, result, facts):
    """Set ``facts`` for the host as ansible.builtin.set_fact does (not cacheable: they end with the run, and no fact
    cache keeps them): ansible/plugins/action/set_fact.py, ActionModule.run."""
    if VariableLayer is not None and hasattr(action, "register_host_variables"):
        action.register_host_variables({}, VariableLayer.CACHEABLE_FACT)
        action.register_host_variables(facts, VariableLayer.EPHEMERAL_FACT)
    result["ansible_facts"] = facts

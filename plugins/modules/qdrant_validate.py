#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: qdrant_validate

short_description: Check the variables of a peekoff.qdrant role and note them as checked in this converge

version_added: 0.2.0

author:
  - peekoff platform team (@peekoff)

description:
  - The variable checks of one peekoff.qdrant role (each role's C(tasks/validate.yml) is one task of this module),
    in one step on the controller, in this order.
  - First the calling role's C(meta/argument_specs.yml) (entry point C(main)), as
    M(ansible.builtin.validate_argument_spec) checks it (every variable of the spec that is set, templated); on
    failure the message starts with C(Validation of arguments failed:) and RV(argument_errors) lists the errors.
    So it must run in a task of the role (it finds the file through C(role_path)).
  - Then the checks across variables of the filter P(peekoff.qdrant.qdrant_validation_errors#filter) (no cluster
    access) on the variables named in O(variables), resolved as a task's template would resolve them. It fails with
    one message per failed check, one per line, naming the variables (the messages of the key checks never show a
    key's value).
  - When every check passes and O(note) is given, appends O(note) to the fact C(__qdrant_validated) (the roles'
    record of what this converge has checked), so that the same checks are not run again in that converge.
  - B(Runs on the controller); it contacts no cluster and no managed host.
  - Internal to the peekoff.qdrant roles; the checks change with the roles' variables.

options:
  role:
    description: The role whose checks run.
    type: str
    required: true
    choices: [secrets, storage, qdrant, gateway_routes, verify]
  variables:
    description:
      - Names of the variables the checks read. Each must be defined (the role's defaults define them).
    type: list
    elements: str
    required: true
  note:
    description:
      - What to append to the fact C(__qdrant_validated) when every check passes. Nothing is noted when empty.
    type: str
    default: ""

attributes:
  check_mode:
    support: full
    description: Only checks and sets a fact; the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller (an action plugin does the work); the target host is not contacted.
"""

EXAMPLES = r"""
- name: Check the storage role's variables
  peekoff.qdrant.qdrant_validate:
    role: storage
    variables: [qdrant_namespace, qdrant_name, qdrant_storage_pvc_name, qdrant_storage_size, qdrant_storage_class,
                qdrant_render_dir, qdrant_replicas]
"""

RETURN = r"""
argument_errors:
  description: The errors of the argument spec check, when it failed.
  returned: when the argument spec check failed
  type: list
  elements: str
  sample: ["argument 'qdrant_replicas' is of type str and we were unable to convert to int"]
ansible_facts:
  description: The fact C(__qdrant_validated) with O(note) appended, when O(note) is given and every check passed.
  returned: success and O(note) not empty
  type: dict
  sample: {"__qdrant_validated": ["storage|qdrant|||qdrant"]}
"""

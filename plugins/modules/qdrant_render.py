#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: qdrant_render

short_description: Render templates into Kubernetes objects, and write objects as one YAML file each plus a kustomization.yaml

version_added: 0.2.0

author:
  - peekoff platform team (@peekoff)

description:
  - How the peekoff.qdrant roles turn their templates into objects, and their render mode (O(dir) is their
    C(qdrant_render_dir)), each in one step. Used by the collection's roles; usable directly.
  - With O(templates), renders each template as the C(ansible.builtin.template) lookup does (the same plugin; a
    relative name is looked up in the calling role's C(templates/) directory; every variable of the task is
    available) and parses the result as C(ansible.builtin.from_yaml) does; the objects are added to O(objects).
    With O(fact), they are also set as that fact for the host, as M(ansible.builtin.set_fact) sets one.
  - Writes each object of O(objects) as C(<kind lower>-<name>.yaml) (mode C(0644)) into O(dir), which it creates
    (mode C(0755)) when missing. Each file is O(header) followed by the object as ansible-core's
    C(ansible.builtin.to_nice_yaml) writes it with C(indent=2) and the object's own key order.
  - Removes the files of the kinds in O(owned_kinds) (C(<kind>-*.yaml)) that O(objects) no longer holds, then
    writes C(kustomization.yaml) listing every C(*.yaml) file of O(dir) except itself, sorted (files of other
    kinds, for example another role's, stay and are listed). Like M(ansible.builtin.find), only regular files
    whose name does not start with a dot count.
  - Refuses a C(Secret) among O(objects) (the directory is meant for Git).
  - With O(secret_path) and O(secret_object), writes that one Secret to O(secret_path) with mode C(0600) (outside
    the Git directory, for you to apply or seal). Its content never appears in the diff; run that task with
    C(no_log).
  - A file is rewritten only when its content or mode differs; C(changed) is true when a file or directory was
    written, changed mode, or was removed.
  - B(Runs on the controller), whatever the target host is. It contacts no cluster and no managed host.

options:
  templates:
    description:
      - Templates of one object each, rendered into objects (see the description).
    type: list
    elements: str
  fact:
    description:
      - Name of a fact to set to the list of objects O(templates) gave. Requires O(templates).
    type: str
  dir:
    description:
      - Directory to write the objects and C(kustomization.yaml) into. Created when missing.
      - One of O(dir), O(secret_path) and O(fact) is required.
    type: path
  objects:
    description:
      - The objects to write, one file each, named by C(kind) and C(metadata.name).
    type: list
    elements: dict
    default: []
  owned_kinds:
    description:
      - Lower-case kinds the caller owns; their files in O(dir) that are not in O(objects) are removed.
    type: list
    elements: str
    default: []
  header:
    description:
      - Text written at the top of every file (for example a comment line ending in a newline).
    type: str
    default: ""
  secret_path:
    description:
      - Absolute path of a file to write O(secret_object) to, with mode C(0600). Its directory must exist.
    type: path
  secret_object:
    description:
      - The Secret written to O(secret_path). Required with O(secret_path), unless O(templates) gives exactly one
        object, a Secret.
    type: dict

attributes:
  check_mode:
    support: full
    description:
      - Writes nothing and reports what it would write or remove (C(changed), RV(written), RV(removed), and the
        diff with C(--diff)).
  diff_mode:
    support: full
    description:
      - One before/after entry per file written or removed (and the directory when created), except the file of
        O(secret_path).
  platform:
    support: full
    platforms: posix
    description:
      - Runs on the controller (an action plugin does the work); the target host is not contacted.

notes:
  - The files are written on the controller, also when the play targets a remote host.
"""

EXAMPLES = r"""
- name: Build the objects of the role's templates (in a task of the role)
  peekoff.qdrant.qdrant_render:
    templates: [service.yaml.j2, workload.yaml.j2]
    fact: my_objects

- name: Render the role's templates straight into a GitOps directory
  peekoff.qdrant.qdrant_render:
    templates: [service.yaml.j2, workload.yaml.j2]
    dir: /srv/gitops/qdrant
    owned_kinds: [deployment, service]

- name: Render the objects for GitOps
  peekoff.qdrant.qdrant_render:
    dir: /srv/gitops/qdrant
    objects: "{{ my_objects }}"
    owned_kinds: [deployment, service]
    header: "# Managed by Ansible, do not edit by hand.\n"

- name: Write the key Secret outside the Git directory (values hidden)
  peekoff.qdrant.qdrant_render:
    secret_path: /srv/secrets/qdrant-secret.yaml
    secret_object: "{{ my_secret }}"
  no_log: true
"""

RETURN = r"""
ansible_facts:
  description: The fact named by O(fact), the objects O(templates) gave.
  returned: when O(fact) is given
  type: dict
  sample: {"my_objects": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "qdrant"}}]}
written:
  description: Paths written (or, in check mode, that would be written), including O(secret_path) when it changed.
  returned: always
  type: list
  elements: str
  sample: [/srv/gitops/qdrant/deployment-qdrant.yaml, /srv/gitops/qdrant/kustomization.yaml]
removed:
  description: Paths removed (or, in check mode, that would be removed) because their objects are no longer rendered.
  returned: always
  type: list
  elements: str
  sample: [/srv/gitops/qdrant/httproute-qdrant-old.yaml]
"""

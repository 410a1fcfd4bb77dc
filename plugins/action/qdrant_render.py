# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of peekoff.qdrant.qdrant_render: a role's templates into objects, and render mode, in one step.

Building: ``templates`` are rendered by ansible-core's own template lookup (ansible.builtin.template, the same
plugin the roles called as ``query('ansible.builtin.template', ...)``) and parsed by its ``from_yaml`` filter
(ansible/plugins/filter/core.py); the objects become the fact named by ``fact`` (set as ansible.builtin.set_fact
sets facts). Writing: it replaces the former seven tasks of render mode (assert, file, copy per object, find, file
absent, find, copy) with one in-process step, so a render costs one task per role instead of one module run per
file. The bytes are those the former tasks wrote: the header plus ansible-core's own ``to_nice_yaml`` filter
(ansible/plugins/filter/core.py) with ``indent=2, sort_keys=False``. The listing follows ansible.builtin.find's
defaults (ansible/modules/find.py: regular files only by lstat, no hidden files, shell patterns, not recursive).

Everything happens on the controller; no module is sent to a managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import stat
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import from_yaml, to_nice_yaml

from ansible_collections.peekoff.qdrant.plugins.plugin_utils.facts import set_facts

DIR_MODE = 0o755
FILE_MODE = 0o644
SECRET_MODE = 0o600
KUSTOMIZATION = "kustomization.yaml"
SECRET_REFUSED = "A Secret is never written into qdrant_render_dir (it is meant for Git); this is a bug in the calling role."


def render_text(header, obj):
    """The bytes of one rendered file (as the former copy task's content expression)."""
    return header + to_nice_yaml(obj, indent=2, sort_keys=False)


def file_name(obj):
    """``<kind lower>-<name>.yaml``."""
    return "%s-%s.yaml" % (obj["kind"].lower(), obj["metadata"]["name"])


def _listing(directory, patterns, excludes=()):
    """Names of the regular, non-hidden files of ``directory`` matching a pattern (ansible.builtin.find's defaults)."""
    if not os.path.isdir(directory):
        return []
    names = []
    for name in os.listdir(directory):
        if name.startswith(".") or not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        if any(fnmatch.fnmatch(name, p) for p in excludes):
            continue
        if stat.S_ISREG(os.lstat(os.path.join(directory, name)).st_mode):
            names.append(name)
    return names


def _current(path):
    """(content bytes or None, mode or None) of a file."""
    try:
        st = os.lstat(path)
    except OSError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return None, stat.S_IMODE(st.st_mode)
    with open(path, "rb") as handle:
        return handle.read(), stat.S_IMODE(st.st_mode)


def _write(path, data, mode):
    """Write atomically (temporary file in the same directory, then rename), with ``mode``."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".qdrant_render.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class Renderer:
    """Plans and (unless ``check``) performs a render; records what changed and the per-file diffs."""

    def __init__(self, check=False):
        self.check = check
        self.changed = False
        self.written = []
        self.removed = []
        self.diff = []

    def ensure_dir(self, directory):
        missing = []
        path = directory
        while path and not os.path.isdir(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        for path in reversed(missing):
            self.changed = True
            self.diff.append({"before_header": path, "after_header": path, "before": {"state": "absent"},
                              "after": {"state": "directory", "mode": "0755"}})
            if not self.check:
                os.mkdir(path)
                os.chmod(path, DIR_MODE)
        if not missing and stat.S_IMODE(os.stat(directory).st_mode) != DIR_MODE:
            self.changed = True
            self.diff.append({"before_header": directory, "after_header": directory,
                              "before": {"mode": "%04o" % stat.S_IMODE(os.stat(directory).st_mode)},
                              "after": {"mode": "0755"}})
            if not self.check:
                os.chmod(directory, DIR_MODE)

    def put(self, path, text, mode, secret=False):
        """Write ``text`` to ``path`` with ``mode`` when content or mode differ. A secret file never enters the diff."""
        data = to_bytes(text, errors="surrogate_or_strict")
        before, before_mode = _current(path)
        if before == data and before_mode == mode:
            return False
        self.changed = True
        self.written.append(path)
        if not secret:
            entry = {"before_header": path, "after_header": path,
                     "before": to_text(before, errors="surrogate_or_strict") if before is not None else "",
                     "after": text}
            if before is not None and before_mode != mode:
                entry["before_header"] = "%s (mode %04o)" % (path, before_mode)
                entry["after_header"] = "%s (mode %04o)" % (path, mode)
            self.diff.append(entry)
        if not self.check:
            _write(path, data, mode)
        return True

    def remove(self, path):
        before, dummy = _current(path)
        self.changed = True
        self.removed.append(path)
        self.diff.append({"before_header": path, "after_header": path,
                          "before": to_text(before, errors="surrogate_or_strict") if before is not None else "",
                          "after": ""})
        if not self.check:
            os.unlink(path)

    def render_dir(self, directory, objects, owned_kinds, header):
        """Write one file per object, remove the owned kinds' files no longer rendered, list all in kustomization."""
        if any(obj.get("kind") == "Secret" for obj in objects):
            raise AnsibleActionFail(SECRET_REFUSED)
        self.ensure_dir(directory)
        wanted = {}
        for obj in objects:
            wanted[file_name(obj)] = render_text(header, obj)
        for name, text in wanted.items():
            self.put(os.path.join(directory, name), text, FILE_MODE)
        owned = _listing(directory, ["%s-*.yaml" % kind for kind in owned_kinds])
        stale = sorted(name for name in owned if name not in wanted)
        for name in stale:
            self.remove(os.path.join(directory, name))
        # In check mode the directory is not touched: list what it would hold.
        present = set(_listing(directory, ["*.yaml"], [KUSTOMIZATION])) - set(stale)
        present.update(name for name in wanted if name != KUSTOMIZATION)
        kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                         "resources": sorted(present)}
        self.put(os.path.join(directory, KUSTOMIZATION), render_text(header, kustomization), FILE_MODE)


class ActionModule(ActionBase):
    """Render mode of peekoff.qdrant: see plugins/modules/qdrant_render.py for the options."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dir", "objects", "owned_kinds", "header", "secret_path", "secret_object", "templates",
                             "fact"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self._task.args
        directory = args.get("dir") or ""
        secret_path = args.get("secret_path") or ""
        header = args.get("header") or ""
        if not isinstance(header, str):
            raise AnsibleActionFail("header must be a string")
        templates = args.get("templates")
        fact = args.get("fact") or ""
        if templates is not None and (not isinstance(templates, list) or not all(isinstance(t, str) for t in templates)):
            raise AnsibleActionFail("templates must be a list of template names or paths")
        if not isinstance(fact, str) or (fact and templates is None):
            raise AnsibleActionFail("fact must be the name of a variable, and needs templates")
        if not directory and not secret_path and not fact:
            raise AnsibleActionFail("one of dir, secret_path and fact is required")
        objects = args.get("objects") or []
        owned_kinds = args.get("owned_kinds") or []
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            raise AnsibleActionFail("objects must be a list of Kubernetes objects (dicts)")
        if not isinstance(owned_kinds, list):
            raise AnsibleActionFail("owned_kinds must be a list of lower-case kinds")
        if templates:
            objects = list(objects) + self._build(templates, task_vars)

        renderer = Renderer(check=bool(self._task.check_mode))
        if directory:
            renderer.render_dir(os.path.expanduser(directory), objects, [str(k) for k in owned_kinds], header)
        if secret_path:
            secret = args.get("secret_object") or (objects[0] if len(objects) == 1 else None)
            if not isinstance(secret, dict) or secret.get("kind") != "Secret":
                raise AnsibleActionFail("secret_object must be a Secret when secret_path is set (or templates must "
                                        "give exactly one object, a Secret)")
            secret_path = os.path.expanduser(secret_path)
            if not os.path.isdir(os.path.dirname(secret_path) or "."):
                raise AnsibleActionFail("the directory of secret_path does not exist: %s" % os.path.dirname(secret_path))
            renderer.put(secret_path, render_text(header, secret), SECRET_MODE, secret=True)

        result.update(changed=renderer.changed, written=renderer.written, removed=renderer.removed)
        if self._task.diff:
            result["diff"] = renderer.diff
        if fact:
            set_facts(self, result, {fact: objects})
        return result

    def _build(self, templates, task_vars):
        """The objects of ``templates``: what ``query('ansible.builtin.template', *templates) | map('from_yaml')``
        gives in a task of the calling role (the lookup finds each template in the role's templates/ directory)."""
        lookup = self._shared_loader_obj.lookup_loader.get("ansible.builtin.template",
                                                           loader=self._loader, templar=self._templar)
        return [from_yaml(text) for text in lookup.run(templates, variables=task_vars)]

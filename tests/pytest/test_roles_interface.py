"""The roles' interface: defaults/main.yml and meta/argument_specs.yml agree for every role, the
variables shared by the four deployment roles agree across them, and what they share (render, read and apply
tasks, Namespace template, internal constants) lives once, in the internal role `common`, which shadows none of
their variables."""
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = ROOT / "roles"
# The internal role holding what the deployment roles share; it has no `main` entry point and no defaults.
COMMON_ROLE = "common"
ALL_ROLES = sorted(p.name for p in ROLES_DIR.iterdir()
                   if (p / "meta" / "argument_specs.yml").is_file() and p.name != COMMON_ROLE)
DEPLOY_ROLES = ["storage", "qdrant", "gateway_routes", "secrets"]
# Option types allowed by ansible's argument spec validation.
TYPES = {"str", "int", "bool", "list", "dict", "float", "path", "raw", "jsonarg", "json", "bytes", "bits"}


def _defaults(role):
    return yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text()) or {}


def _options(role):
    spec = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def test_all_deploy_roles_present():
    assert set(DEPLOY_ROLES) <= set(ALL_ROLES)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_defaults_and_argument_specs_name_the_same_variables(role):
    defaults, options = _defaults(role), _options(role)
    assert sorted(set(defaults) - set(options)) == [], "in defaults/main.yml but not in meta/argument_specs.yml"
    assert sorted(set(options) - set(defaults)) == [], "in meta/argument_specs.yml but not in defaults/main.yml"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_argument_spec_defaults_equal_defaults_main(role):
    defaults, options = _defaults(role), _options(role)
    drift = {
        name: {"defaults/main.yml": defaults[name], "argument_specs": opt.get("default")}
        for name, opt in options.items()
        if name in defaults and opt.get("default") != defaults[name]
    }
    assert drift == {}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_option_is_fully_described(role):
    problems = []
    for name, opt in _options(role).items():
        if not opt.get("description"):
            problems.append(f"{name}: no description")
        if opt.get("type") not in TYPES:
            problems.append(f"{name}: type {opt.get('type')!r}")
        if opt.get("type") == "list" and "elements" not in opt:
            problems.append(f"{name}: list without elements")
        if "default" not in opt and not opt.get("required"):
            problems.append(f"{name}: neither default nor required")
        if "choices" in opt and opt.get("default") not in opt["choices"]:
            problems.append(f"{name}: default {opt.get('default')!r} not among choices")
    assert problems == []


@pytest.mark.parametrize("role", DEPLOY_ROLES)
def test_public_variables_have_the_shared_prefix(role):
    assert [n for n in _options(role) if not n.startswith("qdrant_")] == []


def test_shared_variables_agree_across_roles():
    seen = {}
    for role in DEPLOY_ROLES:
        for name, opt in _options(role).items():
            seen.setdefault(name, []).append((role, opt.get("type"), opt.get("default"), opt.get("choices")))
    disagree = {n: v for n, v in seen.items() if len({repr(x[1:]) for x in v}) > 1}
    assert disagree == {}


# (A role may keep a tasks/apply.yml of its own guards around the import of the common one.)
SHARED = ["templates/namespace.yaml.j2", "tasks/read.yml", "tasks/write.yml"]


@pytest.mark.parametrize("path", SHARED)
def test_shared_files_exist_once_in_the_common_role(path):
    assert (ROLES_DIR / COMMON_ROLE / path).is_file()
    copies = sorted(str(p.relative_to(ROOT)) for p in ROLES_DIR.glob(f"*/{path}") if p.parts[-3] != COMMON_ROLE)
    assert copies == [], "a role carries its own copy; use the one in roles/common"


@pytest.mark.parametrize("role", DEPLOY_ROLES)
def test_deploy_roles_use_the_common_render_and_apply_tasks_and_namespace_template(role):
    # The common tasks are imported as files of the sibling role (import_tasks ../../common/tasks/X.yml), not with
    # import_role: an import_role loads the whole common role again (defaults, vars, meta) at every import.
    main = yaml.safe_load((ROLES_DIR / role / "tasks" / "main.yml").read_text())
    includes = [t["ansible.builtin.include_tasks"] for t in _walk(main) if "ansible.builtin.include_tasks" in t]
    assert {"file": "{{ role_path }}/../common/tasks/guard.yml", "apply": {"tags": ["always"]}} in includes
    # main.yml (the role alone) checks the variables, then takes the render or the cluster path; site.yml includes
    # render.yml or deploy.yml itself.
    assert "{{ 'render' if qdrant_render_dir | length > 0 else 'deploy' }}.yml" in includes
    imports = [t["ansible.builtin.import_tasks"] for t in _walk(main) if "ansible.builtin.import_tasks" in t]
    assert "validate.yml" in imports
    # Every object comes from the role's templates through the one builder and writer, peekoff.qdrant.qdrant_render:
    # render.yml writes into qdrant_render_dir with it, manifests.yml builds the objects the cluster path applies.
    render = yaml.safe_load((ROLES_DIR / role / "tasks" / "render.yml").read_text())
    writes = [t["peekoff.qdrant.qdrant_render"] for t in _walk(render) if "peekoff.qdrant.qdrant_render" in t]
    assert [w for w in writes if w.get("dir") == "{{ qdrant_render_dir }}" and "templates" in w], writes
    manifests = yaml.safe_load((ROLES_DIR / role / "tasks" / "manifests.yml").read_text())
    builds = [t["peekoff.qdrant.qdrant_render"] for t in _walk(manifests) if "peekoff.qdrant.qdrant_render" in t]
    assert builds and all("fact" in b and "dir" not in b for b in builds), builds
    for f in (ROLES_DIR / role / "tasks").glob("*.yml"):
        for task in _walk(yaml.safe_load(f.read_text()) or []):
            assert not {"ansible.builtin.copy", "ansible.builtin.template", "ansible.builtin.file"} & set(task), \
                (f.name, task["name"], "writes files on its own instead of peekoff.qdrant.qdrant_render")
            assert "query('ansible.builtin.template'" not in str(task), (f.name, task["name"])
    # The apply path is the common one (imported from main.yml or the role's apply.yml); no role applies itself.
    applies = [t["ansible.builtin.import_tasks"] for f in (ROLES_DIR / role / "tasks").glob("*.yml")
               for t in _walk(yaml.safe_load(f.read_text()) or []) if "ansible.builtin.import_tasks" in t]
    assert "../../common/tasks/apply.yml" in applies
    for f in (ROLES_DIR / role / "tasks").glob("*.yml"):
        for imported in [t["ansible.builtin.import_tasks"] for t in _walk(yaml.safe_load(f.read_text()) or [])
                         if "ansible.builtin.import_tasks" in t]:
            assert (ROLES_DIR / role / "tasks" / imported).resolve().is_file(), (f.name, imported)
    for f in (ROLES_DIR / role / "tasks").glob("*.yml"):
        for task in _walk(yaml.safe_load(f.read_text()) or []):
            k8s = task.get("kubernetes.core.k8s") or {}
            assert not k8s.get("apply"), (f.name, task["name"], "applies on its own instead of roles/common")
    meta = yaml.safe_load((ROLES_DIR / role / "meta" / "main.yml").read_text())
    assert "peekoff.qdrant.common" in meta["dependencies"], "the common constants reach the role through this"
    internal = yaml.safe_load((ROLES_DIR / role / "vars" / "main.yml").read_text())
    templates = next(v for k, v in internal.items() if k.endswith("_templates") and "namespace" in str(v))
    assert "[_qdrant_namespace_template] if qdrant_namespace_create" in templates


def test_common_role_shadows_no_variables_and_declares_its_entry_points():
    """Every deployment role depends on it, so its vars reach their tasks: internal constants only, each defined
    once (no role's own vars/main.yml or defaults define the same name), and no defaults."""
    common = ROLES_DIR / COMMON_ROLE
    assert not (common / "defaults").exists()
    shared = yaml.safe_load((common / "vars" / "main.yml").read_text())
    assert [n for n in shared if not n.startswith("_qdrant_")] == []
    for role in DEPLOY_ROLES:
        internal = yaml.safe_load((ROLES_DIR / role / "vars" / "main.yml").read_text())
        assert sorted(set(internal) & set(shared)) == [], role
        assert sorted(set(_defaults(role)) & set(shared)) == [], role
    assert shared["_qdrant_namespace_template"] == "{{ role_path }}/../common/templates/namespace.yaml.j2"
    specs = yaml.safe_load((common / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    # Every entry point documents its inputs at the top of its tasks file (a spec would cost a task per import).
    assert specs == {}
    for entry in ("read", "apply", "absent"):
        assert "__qdrant_%s_" % entry in (common / "tasks" / ("%s.yml" % entry)).read_text().split("- name:")[0]
    assert "no inputs" in (common / "tasks" / "guard.yml").read_text().split("- name:")[0]


@pytest.mark.parametrize("role", DEPLOY_ROLES + [COMMON_ROLE])
def test_templates_start_with_a_managed_by_comment(role):
    for tpl in sorted((ROLES_DIR / role / "templates").glob("*.j2")):
        first = tpl.read_text().splitlines()[0]
        if tpl.name.startswith("_"):  # partials included into a template that has the comment
            assert first.startswith("{#"), tpl
        else:
            assert first.startswith("# Managed by Ansible"), tpl


@pytest.mark.parametrize("role", DEPLOY_ROLES)
def test_internal_names_follow_the_convention(role):
    """Role vars are `_qdrant_*`; registered results and facts set in tasks are `__qdrant_*`."""
    internal = yaml.safe_load((ROLES_DIR / role / "vars" / "main.yml").read_text())
    assert [n for n in internal if not n.startswith("_qdrant_")] == []
    for tasks in (ROLES_DIR / role / "tasks").glob("*.yml"):
        for task in _walk(yaml.safe_load(tasks.read_text()) or []):
            if "register" in task:
                assert task["register"].startswith("__qdrant_"), (tasks.name, task["register"])
            for name in (task.get("ansible.builtin.set_fact") or {}):
                assert name.startswith("__qdrant_"), (tasks.name, name)


def _walk(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _walk(task.get(key, []))

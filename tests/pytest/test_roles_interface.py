"""The roles' interface: defaults/main.yml and meta/argument_specs.yml agree for every role, the
variables shared by the four deployment roles agree across them, and files kept in several roles
as copies have not drifted apart."""
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = ROOT / "roles"
ALL_ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
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


@pytest.mark.parametrize("path", ["templates/namespace.yaml.j2", "tasks/render.yml"])
def test_copies_kept_in_every_role_are_identical(path):
    texts = {role: (ROLES_DIR / role / path).read_text() for role in DEPLOY_ROLES}
    assert len(set(texts.values())) == 1, f"{path} differs between roles: {sorted(texts)}"


@pytest.mark.parametrize("role", DEPLOY_ROLES)
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

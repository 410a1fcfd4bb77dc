"""Write the README's role variable tables from each role's meta/argument_specs.yml (the one source of truth).

    python scripts/gen_role_docs.py          rewrite README.md between the ROLE-VARIABLES markers
    python scripts/gen_role_docs.py --check  exit 1 when README.md is out of date (tests/pytest/test_docs.py runs this)
"""
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- ROLE-VARIABLES:BEGIN (scripts/gen_role_docs.py) -->", "<!-- ROLE-VARIABLES:END -->"
ROLE_ORDER = ["secrets", "storage", "qdrant", "gateway_routes", "verify"]


# Ansible's documentation markup (C(), V(), O(), ...) shown as Markdown code.
MARKUP = re.compile(r"\b[CVOIMRLU]\(([^()]*)\)")


def cell(text):
    return MARKUP.sub(r"`\1`", str(text)).replace("|", "\\|").replace("\n", " ")


def render():
    seen = {}
    out = []
    for role in ROLE_ORDER:
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
        out.append(f"\n### Role `peekoff.qdrant.{role}`\n\n{cell(spec.get('short_description', ''))}\n")
        shared = [n for n in spec["options"] if n in seen]
        if shared:
            out.append("Shared with the roles above (same meaning and default): "
                       + ", ".join(f"`{n}`" for n in shared) + ".\n")
        rows = [n for n in spec["options"] if n not in seen]
        if rows:
            out.append("| variable | type | default | description |\n|---|---|---|---|")
        for name in rows:
            opt = spec["options"][name]
            seen[name] = role
            typ = opt.get("type", "str") + (f" of {opt['elements']}" if opt.get("elements") else "")
            if opt.get("choices"):
                typ += " (" + ", ".join(str(c) for c in opt["choices"]) + ")"
            desc = opt.get("description", "")
            desc = " ".join(desc) if isinstance(desc, list) else desc
            default = json.dumps(opt.get("default"))
            out.append(f"| `{name}` | {cell(typ)} | `{cell(default)}` | {cell(desc)} |")
        out.append("")
    return "\n".join(out)


def main():
    text = README.read_text()
    head, _begin, rest = text.partition(BEGIN)
    _body, _end, tail = rest.partition(END)
    new = head + BEGIN + "\n" + render() + "\n" + END + tail
    if "--check" in sys.argv:
        if new != text:
            sys.exit("README.md role variable tables are out of date: run python scripts/gen_role_docs.py")
        return
    README.write_text(new)


if __name__ == "__main__":
    main()

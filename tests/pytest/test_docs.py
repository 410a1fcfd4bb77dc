"""The README's role variable tables are generated from meta/argument_specs.yml and must match them."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_readme_role_variables_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_role_docs.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_readme_names_every_role_and_the_two_commands():
    text = (ROOT / "README.md").read_text()
    for role in ("secrets", "storage", "qdrant", "gateway_routes", "verify"):
        assert f"### Role `peekoff.qdrant.{role}`" in text
    assert "scripts/deploy.sh" in text and "scripts/test.sh" in text
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()

"""The README's Reliability table is generated from the reliability tests' case tables and must match them."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_readme_reliability_table_matches_the_tests():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_reliability_docs.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_table_counts_the_tests_tables():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_reliability_docs as gen
    finally:
        sys.path.pop(0)
    sys.path.insert(0, str(ROOT / "tests" / "pytest"))
    import test_reliability_bad_input
    import test_reliability_faults
    counts = {path: n for _what, n, path in gen.rows()}
    assert counts["tests/pytest/test_reliability_bad_input.py"] == len(test_reliability_bad_input.BAD_INPUTS) >= 40
    assert counts["tests/pytest/test_reliability_faults.py"] == (len(test_reliability_faults.FAULTS)
                                                                 + len(test_reliability_faults.MISSING_CRDS))

"""The Galaxy artifact: ``ansible-galaxy collection build`` ships what users need and no test file
(galaxy.yml build_ignore), and the build check (tests/sanity/check_build.py, stage ``build`` of scripts/test.sh)
fails when a test file is in the tarball."""
import io
import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "tests", "sanity", "check_build.py")


def _galaxy():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    return exe if os.path.exists(exe) else os.path.join(ROOT, ".venv", "bin", "ansible-galaxy")


def _check(tarball):
    return subprocess.run([sys.executable, CHECK, str(tarball)], capture_output=True, text=True, check=False)


def test_built_collection_has_no_test_file_and_passes_the_check(tmp_path):
    subprocess.run([_galaxy(), "collection", "build", "--force", "--output-path", str(tmp_path), ROOT],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    (tarball,) = tmp_path.glob("peekoff-qdrant-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert [n for n in names if n == "tests" or n.startswith(("tests/", "molecule/"))] == []
    assert "roles/qdrant/tasks/main.yml" in names and "plugins/modules/qdrant_check.py" in names
    result = _check(tarball)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_check_fails_when_a_test_file_is_in_the_tarball(tmp_path):
    """A tarball with every required file plus one test file (as the build shipped before build_ignore: tests)."""
    with tarfile.open(tmp_path / "good.tar.gz", "w:gz") as tar:
        for name in ["MANIFEST.json", "meta/runtime.yml", "README.md", "LICENSE", "plugins/modules/qdrant_check.py",
                     "roles/storage/tasks/main.yml", "roles/qdrant/tasks/main.yml",
                     "roles/gateway_routes/tasks/main.yml", "roles/secrets/tasks/main.yml", "playbooks/site.yml"]:
            info = tarfile.TarInfo(name)
            tar.addfile(info, io.BytesIO(b""))
    assert _check(tmp_path / "good.tar.gz").returncode == 0
    for leaked in ("tests/support/kube_emulator/server.py", "tests/pytest/test_docs.py",
                   "tests/sanity/check_build.py", "tests/unit/plugins/modules/test_qdrant_check.py"):
        bad = tmp_path / "bad.tar.gz"
        with tarfile.open(tmp_path / "good.tar.gz") as src, tarfile.open(bad, "w:gz") as tar:
            for member in src.getmembers():
                tar.addfile(member, io.BytesIO(b""))
            tar.addfile(tarfile.TarInfo(leaked), io.BytesIO(b""))
        result = _check(bad)
        assert result.returncode != 0 and leaked in result.stdout + result.stderr, (leaked, result.stdout, result.stderr)

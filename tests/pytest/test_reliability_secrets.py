"""Secrets at -vvv in every mode: no API key, no base64 (standard or URL-safe) of a key and no JWT in stdout or
stderr of a converge, ``--check --diff`` with a key rotation, a run that fails when the API server refuses the
Secret (500), a run whose verification fails, ``qdrant_state=absent`` and render mode; and no key in the
emulator's request log (paths and queries; bodies are the Secret's own business).

``SECRET_MODES`` is counted for the README reliability section (scripts/gen_reliability_docs.py); each mode is
checked for every key form in ``_forms``.
"""
import base64
import re

from test_site_playbook import SECRET, KEY_FIELD, RO_KEY_FIELD, JWT_RE

ROTATED = "R0tatedInCheckMode" * 3          # given in --check --diff: never written, never shown
REFUSED = "RefusedByTheApiServer" * 3       # given while the API server answers 500 to the Secret
SECRET_MODES = ["converge", "check_diff_rotation", "secret_write_fails_500", "verification_fails", "absent",
                "render"]
SECRET_PATH = r"^/api/v1/namespaces/qdrant/secrets/" + SECRET + "$"


def _forms(key):
    raw = key.encode()
    return {"clear": key, "base64": base64.b64encode(raw).decode().rstrip("="),
            "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("=")}


def _leaks(text, keys):
    found = ["%s as %s" % (name, form) for name, key in keys.items() for form, value in _forms(key).items()
             if value in text]
    found += ["a JWT (%s...)" % t[:12] for t in JWT_RE.findall(text)]
    return found


def _keys(cluster):
    data = cluster.get("v1", "Secret", SECRET)["data"]
    return {field: base64.b64decode(data[field]).decode() for field in (KEY_FIELD, RO_KEY_FIELD) if field in data}


def test_no_secret_at_vvv_in_any_mode(make_local_cluster, tmp_path):
    cluster = make_local_cluster()
    common = ("-e", "qdrant_read_only_api_key_enabled=true", "-e", "qdrant_jwt_rbac=true")
    leaks = {}

    run = cluster.run(*common, verbosity=3)
    assert run.rc == 0, run.tail()
    assert "jwt_read_token_reads" in run.output  # tokens were minted and used in this run
    keys = _keys(cluster)
    assert set(keys) == {KEY_FIELD, RO_KEY_FIELD}
    keys.update(rotated=ROTATED, refused=REFUSED)
    leaks["converge"] = _leaks(run.output, keys)

    run = cluster.run(*common, "-e", "qdrant_api_key=" + ROTATED, "-e", "qdrant_storage_size=60Gi",
                      check=True, diff=True, verbosity=3)
    assert run.rc == 0 and run.recap["changed"] > 0, run.tail()
    assert re.search(r"^\+\s.*storage: 60Gi", run.output, re.M), "--diff showed nothing:\n" + run.tail()
    leaks["check_diff_rotation"] = _leaks(run.output, keys)

    cluster.emu.inject_fault(method="PATCH", path=SECRET_PATH, status=500, count=None)
    run = cluster.run(*common, "-e", "qdrant_api_key=" + REFUSED, verbosity=3)
    cluster.emu.clear_faults()
    assert run.rc != 0 and "injected fault" in run.output, run.tail()
    leaks["secret_write_fails_500"] = _leaks(run.output, keys)

    cluster.misconfigure(auth_disabled=True)
    run = cluster.run(*common, verbosity=3)
    cluster.misconfigure()
    assert run.rc != 0 and "no_credential_refused" in run.output, run.tail()
    leaks["verification_fails"] = _leaks(run.output, keys)

    assert _keys(cluster)[KEY_FIELD] == keys[KEY_FIELD], "a failed or check-mode run changed the key"
    run = cluster.run(*common, "-e", "qdrant_state=absent", verbosity=3)
    assert run.rc == 0, run.tail()
    leaks["absent"] = _leaks(run.output, keys)

    # The kubernetes backend renders its Secret outside the render dir (qdrant_render_secret_path, issue 13).
    render_dir, secret_file = tmp_path / "render", tmp_path / "secret.yaml"
    run = cluster.run(*common, "-e", "qdrant_render_dir=%s" % render_dir,
                      "-e", "qdrant_render_secret_path=%s" % secret_file, verbosity=3)
    assert run.rc == 0, run.tail()
    assert secret_file.is_file(), "the rendered Secret was not written: " + run.tail()
    rendered = {}
    for path in list(render_dir.glob("*.yaml")) + [secret_file]:
        for field in (KEY_FIELD, RO_KEY_FIELD):
            m = re.search(r"%s\W+([A-Za-z0-9+/=]{20,})" % field, path.read_text())
            if m:
                rendered["rendered " + field] = base64.b64decode(m.group(1)).decode()
    leaks["render"] = _leaks(run.output, dict(keys, **rendered))

    # The request log: no key in any path or query (the Secret's body is not logged by the emulator).
    log = "\n".join("%s %s?%s" % r for r in cluster.emu.requests)
    leaks["request_log"] = _leaks(log, keys)
    assert sorted(leaks) == sorted(SECRET_MODES + ["request_log"])
    assert all(not v for v in leaks.values()), "secrets printed: %s" % {k: v for k, v in leaks.items() if v}

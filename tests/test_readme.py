"""The README keeps its promises: the threat model names the test that proves each line (every
named test must exist, so a renamed or deleted test cannot leave a promise unproven), and the
local API blocks run as written after `make run`."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    nxt = text.find("\n## ", start + 1)
    return text[start: nxt if nxt != -1 else None]


def test_every_test_the_threat_model_names_exists():
    section = _section((ROOT / "README.md").read_text(encoding="utf-8"), "Threat model")
    refs = re.findall(r"`((?:tests/[\w/]+/)?test_\w+\.py)(?:::(test_\w+))?`", section)
    assert len(refs) > 20, "the threat model names its tests"
    missing = []
    for file, name in refs:
        candidates = [ROOT / file] if file.startswith("tests/") else list(ROOT.glob(f"tests/**/{file}"))
        if not candidates or not any(p.exists() for p in candidates):
            missing.append(file)
            continue
        if name and not any(re.search(rf"^(async )?def {name}\(", p.read_text(encoding="utf-8"), re.M) for p in candidates if p.exists()):
            missing.append(f"{file}::{name}")
    assert missing == []


def test_every_test_the_safety_layers_table_names_exists():
    """The same promise for the layer-alone tests (issue #19)."""
    section = _section((ROOT / "README.md").read_text(encoding="utf-8"), "Safety layers, each on its own")
    refs = re.findall(r"`(test_\w+\.py)::(test_\w+)`", section)
    assert len(refs) >= 12
    missing = [f"{file}::{name}" for file, name in refs
               if not any(re.search(rf"^def {name}\(", p.read_text(encoding="utf-8"), re.M)
                          for p in ROOT.glob(f"tests/**/{file}"))]
    assert missing == []


# --- the local blocks run as written -------------------------------------------------------------

LOCAL_HEADING = "### On your machine, after `make run`"


def local_blocks() -> tuple[str, str]:
    """The ```sh and ```python blocks of the README's local section (in that order)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(LOCAL_HEADING)
    section = text[start: text.find("\n## ", start)]
    sh = re.findall(r"```sh\n(.*?)```", section, re.S)
    py = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(sh) == 1 and len(py) == 1, "the local section has one shell and one Python block"
    return sh[0], py[0]


@pytest.mark.django_db(transaction=True)
def test_the_local_shell_and_python_blocks_run_as_written_against_make_runs_server(tmp_path, settings):
    """What `make run` leaves running (the demo in the database, `manage.py doppel_run`: web server
    plus background worker), here on the test database and a free port; then the README's local
    shell block (with its token command) and its Python block run verbatim in one bash session,
    as a reader pastes them into a second terminal."""
    import os
    import signal
    import subprocess
    import sys
    from io import StringIO

    from django.core.files.storage import storages
    from django.core.management import call_command
    from django.db import connection

    from tests.conftest import _port_open, free_port, require_service, wait_for

    db = connection.settings_dict
    require_service(db["ENGINE"].endswith("postgresql"), "PostgreSQL test database (set CI=true or DATABASE_URL)")
    var = tmp_path / "var"
    settings.VAR_DIR = var
    settings.LOCAL_ROOTS = [(var / "sources").resolve()]
    settings.STORAGES = {**settings.STORAGES, "renditions": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(var / "renditions")}}}
    storages._storages.pop("renditions", None)
    call_command("doppel_demo", "--no-progress", stdout=StringIO(), stderr=StringIO())  # make run's demo step
    storages._storages.pop("renditions", None)

    port = free_port()
    database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    # make's environment (DEBUG=1 is exported by the Makefile), mapped to the test's database and var/
    env = {**{k: os.environ[k] for k in keep if k in os.environ}, "DEBUG": "1", "DATABASE_URL": database_url,
           "DOPPEL_VAR_DIR": str(var), "PYTHONUNBUFFERED": "1"}
    out = tmp_path / "doppel_run.out"
    server = subprocess.Popen([sys.executable, "manage.py", "doppel_run", "--port", str(port), "--concurrency", "1"],
                              cwd=ROOT, env=env, stdout=open(out, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    log = var / "worker.log"
    try:
        wait_for(lambda: server.poll() is None and _port_open("127.0.0.1", port) and log.exists()
                 and "ready." in log.read_text(), timeout=90, message=f"doppel_run ({out.read_text()[-500:]})")
        sh, py = local_blocks()
        python = ROOT / ".venv" / "bin" / "python"
        assert ".venv/bin/python" in sh and python.exists(), "the README names the virtualenv's Python"
        script = f"set -euo pipefail\n{sh}\n{python} - <<'README_PYTHON'\n{py}README_PYTHON\n"
        run = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180,
                             env={**env, "DEBUG": "", "DOPPEL_URL": f"http://127.0.0.1:{port}"})
        assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}\nserver:\n{out.read_text()[-3000:]}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    lines = run.stdout
    assert '"name":"demo-cleanup"' in lines.replace(" ", "")  # the curl of the sources
    assert re.search(r"^analysis job \d+: done$", lines, re.M), lines
    counts = re.search(r"^open files: (\{.*\})$", lines, re.M)
    assert counts and "'identical':" in counts.group(1) and "'rotated':" in counts.group(1), lines
    assert re.search(r"^next file: \S+ \w+", lines, re.M), lines
    from reviewapp.models import ReviewItem

    assert not ReviewItem.objects.filter(status=ReviewItem.Status.LEASED).exists()  # the example gave it back


def test_every_screenshot_the_readme_shows_exists_and_each_verdict_has_both_sizes():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    shots = set(re.findall(r"\((docs/screenshots/[\w.-]+\.png)\)", text))
    assert shots and all((ROOT / s).is_file() for s in shots), sorted(s for s in shots if not (ROOT / s).is_file())
    from reviewapp.models import Verdict

    for verdict in Verdict.values:
        for size in ("1440x900", "1280x720"):
            assert f"docs/screenshots/file-view-{verdict}-{size}.png" in shots, (verdict, size)

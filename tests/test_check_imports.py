"""tools/check_imports.py: the import rule import-linter cannot see (where an import stands)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_imports  # noqa: E402


def _write(tmp_path, rel, text) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_app_as_it_is_keeps_the_rule():
    out = subprocess.run([sys.executable, "tools/check_imports.py"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ})
    assert out.returncode == 0, out.stdout


def test_a_task_module_importing_a_service_at_the_top_is_refused(in_tmp):
    _write(in_tmp, "reviewapp/tasks/pipeline.py", "from ..services import jobs\nfrom ..storage import StorageError\n")
    found = check_imports.violations(Path("reviewapp/tasks/pipeline.py"))
    assert len(found) == 1 and "reviewapp/tasks/pipeline.py:1" in found[0] and "..services" in found[0]


def test_a_task_importing_its_service_in_its_body_is_the_rule(in_tmp):
    _write(in_tmp, "reviewapp/tasks/pipeline.py", "def job_task(job_id):\n    from ..services.jobs import job_start\n")
    assert check_imports.violations(Path("reviewapp/tasks/pipeline.py")) == []


def test_a_service_importing_the_app_inside_a_function_is_refused(in_tmp):
    _write(in_tmp, "reviewapp/services/jobs.py",
           "import json\n\ndef job_dispatch(job):\n    from ..tasks import pipeline\n    import json\n    import matching\n")
    found = check_imports.violations(Path("reviewapp/services/jobs.py"))
    assert [f.split(":")[1] for f in found] == ["4", "6"]  # the app's and the engine's, not the stdlib's


def test_only_the_listed_places_may_keep_a_function_local_import(in_tmp):
    _write(in_tmp, "reviewapp/apps.py", "def ready(self):\n    from . import signals\n")
    _write(in_tmp, "reviewapp/other.py", "def ready(self):\n    from . import signals\n")
    assert check_imports.violations(Path("reviewapp/apps.py")) == []
    assert len(check_imports.violations(Path("reviewapp/other.py"))) == 1
    assert check_imports.main(["reviewapp"]) == 1

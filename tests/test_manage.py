"""manage.py run by hand, outside make: a settings problem is one line on stderr, not a traceback."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DEBUG", "DOPPEL_TESTING", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env.update(env_changes)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_missing_secret_key_is_one_line_on_stderr_with_exit_status_2(tmp_path):
    result = run_manage("doppel_status", DOPPEL_VAR_DIR=str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY" in lines[0] and "configuration error" in lines[0]


def test_a_bad_number_in_the_environment_is_named_in_one_line(tmp_path):
    result = run_manage("check", DEBUG="1", DOPPEL_VAR_DIR=str(tmp_path), DOPPEL_LEASE_SECONDS="soon")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("configuration error: DOPPEL_LEASE_SECONDS must be a whole number, not 'soon'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_with_settings_in_place_the_command_runs(tmp_path):
    result = run_manage("check", DEBUG="1", DOPPEL_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr

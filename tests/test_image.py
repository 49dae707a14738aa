"""A baked service's image, built with podman and run the way a cluster runs it.

The image is built with ``make image`` on a stand-in for the official slim Python
image (a Debian rootfs made with mmdebstrap, since no image registry is reachable
here), then run with a read-only root filesystem, as its non-root user, with every
capability dropped, against a Temporal server and PostgreSQL on the host:
``init-db``, the worker and its probes, the example started by type name, and a
SIGTERM in the middle of the large example, after which a new container finishes
the job with every row there once.

podman, runc and mmdebstrap come from the system's packages; the template's
``make test-image`` installs them where they are missing (the ``podman`` target).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import Cookies, bake_ok, free_port_pair, make

pytestmark = pytest.mark.image

BASE_IMAGE = "localhost/python-base:bookworm"
BASE_PACKAGES = "python3,python3-venv,python3-pip,python-is-python3,ca-certificates"
# The machine's bundle, which holds the TLS-intercepting proxy's CA: the build's secret.
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PACKAGE = "kardashian_tracker"
WORKFLOW_TYPE = "KardashianWorkflow"
TASK_QUEUE = "kardashian-tracker.kardashian"
TABLE = "kardashians"
LARGE_TOTAL = 1_000_006
# The worker's graceful shutdown (temporal/worker.py) is 5 s; podman kills after this.
STOP_GRACE_SECONDS = 30
BUILD_ID = "image-test-1"
DEPLOYMENT = "kardashian-tracker"


def podman() -> str:
    found = shutil.which("podman")
    if found is None:
        pytest.fail("podman is not installed: `make test-image` installs it (make podman)")
    return found


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment podman runs in here, with the stand-in base image present.

    These machines use hybrid cgroups and lack CAP_SYS_RESOURCE: crun refuses the
    first and podman's default rlimits, above the current ones, the second. A
    containers.conf of the test's own (never the system's) picks runc and cgroupfs,
    and today's limits.
    """
    scratch = tmp_path_factory.mktemp("podman")
    files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    conf = scratch / "containers.conf"
    conf.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={files}:{files}", "nproc=4096:4096"]\n'
        '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n',
        encoding="utf-8",
    )
    env = os.environ | {"CONTAINERS_CONF": str(conf)}
    exists = subprocess.run([podman(), "image", "exists", BASE_IMAGE], env=env, check=False)
    if exists.returncode != 0:
        rootfs = scratch / "base.tar"
        made = subprocess.run(
            ["mmdebstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", rootfs],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert made.returncode == 0, made.stderr[-3000:]
        subprocess.run([podman(), "import", rootfs, BASE_IMAGE], env=env, check=True)
    return env


@dataclass(frozen=True)
class HostServers:
    temporal_address: str
    database_url: str
    socket_dir: str


@contextmanager
def host_servers(venv: Path, project: Path, scratch: Path) -> Iterator[HostServers]:
    """A Temporal dev server and an embedded PostgreSQL on the host, from the baked venv."""
    port = free_port_pair()
    temporal = subprocess.Popen(
        [str(venv / "bin" / "temporal"), "server", "start-dev", "--headless",
         "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # PostgreSQL as the service's dev command starts it; it prints where it listens. It
    # listens on a socket only, in its data directory (0700, checked only at start):
    # the containers' user may pass through it to the socket, as any local user could.
    script = (
        "import os, sys, pathlib; from psycopg.conninfo import conninfo_to_dict; "
        f"from {PACKAGE}.dev import EmbeddedPostgres; "
        "pg = EmbeddedPostgres(pathlib.Path(sys.argv[1]), keep=False); "
        "where = conninfo_to_dict(pg.url)['host']; os.chmod(where, 0o711); "
        "print(pg.url); print(where, flush=True); "
        "sys.stdin.read(); pg.cleanup()"
    )
    postgres = subprocess.Popen(
        [str(venv / "bin" / "python"), "-W", "ignore", "-c", script, str(scratch / "pg")],
        cwd=project, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert postgres.stdout is not None
        url, socket_dir = postgres.stdout.readline().strip(), postgres.stdout.readline().strip()
        assert url and socket_dir, "embedded PostgreSQL did not start"
        yield HostServers(f"127.0.0.1:{port}", url, socket_dir)
    finally:
        if postgres.stdin is not None:
            postgres.stdin.close()
        postgres.wait(timeout=60)
        temporal.terminate()
        temporal.wait(timeout=30)


def container_args(servers: HostServers, health_port: int) -> list[str]:
    """How a cluster runs the image: read-only root, a tmpfs for /tmp, no capabilities,
    no privilege escalation; the host's network and PostgreSQL's socket."""
    return [
        "--network", "host", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--volume", f"{servers.socket_dir}:{servers.socket_dir}",
        "--env", f"DATABASE_URL={servers.database_url}",
        "--env", f"TEMPORAL_ADDRESS={servers.temporal_address}",
        "--env", f"HEALTH_ADDRESS=127.0.0.1:{health_port}",
        "--env", f"METRICS_ADDRESS=127.0.0.1:{health_port + 1}",
    ]  # fmt: skip


def readyz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def wait_until_ready(port: int, container: str, env: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while readyz(port) != 200:
        state = inspect(container, env, "{{.State.Status}}")
        assert state == "running", f"the worker container is {state}: {logs(container, env)}"
        assert time.monotonic() < deadline, f"/readyz not 200 within {timeout:.0f} s"
        time.sleep(0.5)


def inspect(container: str, env: dict[str, str], template: str) -> str:
    shown = subprocess.run(
        [podman(), "inspect", "--format", template, container],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return shown.stdout.strip()


def logs(container: str, env: dict[str, str]) -> str:
    shown = subprocess.run(
        [podman(), "logs", container], env=env, capture_output=True, text=True, check=False
    )
    return (shown.stdout + shown.stderr)[-3000:]


def detach(run: list[str], name: str, image: str, env: dict[str, str]) -> None:
    """The image's default command, the worker, in a container of that name."""
    command = [*run, "--detach", "--name", name, image]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def remove(container: str, env: dict[str, str]) -> None:
    subprocess.run(
        [podman(), "rm", "--force", container], env=env, capture_output=True, check=False
    )


def temporal(venv: Path, servers: HostServers, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "temporal"), *args, "--address", servers.temporal_address],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def make_current(venv: Path, servers: HostServers, timeout: float = 60) -> None:
    """Make the image's build the deployment's current version, as a first deploy does
    (README, "Deploying a new build"): the server accepts it once the worker has polled."""
    args = ["worker", "deployment", "set-current-version", "--deployment-name", DEPLOYMENT]
    deadline = time.monotonic() + timeout
    while (made := temporal(venv, servers, *args, "--build-id", BUILD_ID, "--yes")).returncode:
        assert time.monotonic() < deadline, made.stderr
        time.sleep(0.5)


def rows(venv: Path, servers: HostServers) -> tuple[int, int]:
    """The table's rows, and how many distinct keys they hold."""
    query = f"SELECT count(*), count(DISTINCT (name, surname)) FROM {TABLE}"
    script = (
        f"import sys, psycopg; print(*psycopg.connect(sys.argv[1]).execute({query!r}).fetchone())"
    )
    counted = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, servers.database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    total, distinct = counted.stdout.split()
    return int(total), int(distinct)


@pytest.mark.slow
def test_the_image_builds_small_and_runs_the_service_as_a_cluster_would(
    cookies: Cookies, baked_venv: Path, podman_env: dict[str, str], tmp_path: Path
) -> None:
    project = bake_ok(cookies, {})
    assert make(project, baked_venv).returncode == 0  # installs the venv the servers come from
    image = f"localhost/kardashian-tracker:{BUILD_ID}"
    started = time.monotonic()
    built = subprocess.run(
        ["make", "image", f"IMAGE={image}", f"BUILD_ID={BUILD_ID}", f"PYTHON_IMAGE={BASE_IMAGE}",
         f"IMAGE_CA={CA_BUNDLE}", "IMAGE_BUILD_ARGS=--network host", f"VENV={baked_venv}"],
        cwd=project, env=podman_env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    build_seconds = time.monotonic() - started
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    size = int(inspect(image, podman_env, "{{.Size}}"))
    base = int(inspect(BASE_IMAGE, podman_env, "{{.Size}}"))
    print(f"image {image}: {size / 1e6:.0f} MB ({(size - base) / 1e6:.0f} MB over its base), "
          f"built in {build_seconds:.0f} s")  # fmt: skip
    labels = json.loads(inspect(image, podman_env, "{{json .Config.Labels}}"))
    assert labels["org.opencontainers.image.revision"] == BUILD_ID
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    config = json.loads(inspect(image, podman_env, "{{json .Config}}"))
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["python", "-m", PACKAGE] and config["Cmd"] == ["worker"]
    assert f"BUILD_ID={BUILD_ID}" in config["Env"]
    # Nothing of the build is left: no uv, no tests, no cache, no CA bundle of the build's.
    leftovers = subprocess.run(
        [podman(), "run", "--rm", "--entrypoint", "sh", image, "-c",
         "ls -d /opt/uv /build /root/.cache/uv /run/secrets/ca "
         f"/opt/venv/lib/python*/site-packages/{PACKAGE}/../tests 2>/dev/null; "
         "command -v uv gcc cc || true"],
        env=podman_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert leftovers.stdout.strip() == "", leftovers.stdout

    with host_servers(baked_venv, project, tmp_path) as servers:
        health = free_port_pair(1)
        run = [podman(), "run", *container_args(servers, health)]
        schema = subprocess.run(
            [*run, "--rm", image, "init-db"], env=podman_env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert schema.returncode == 0 and "schema applied" in schema.stdout, schema.stderr

        first = f"worker-{uuid.uuid4().hex[:8]}"
        detach(run, first, image, podman_env)
        try:
            wait_until_ready(health, first, podman_env)
            make_current(baked_venv, servers)
            example = temporal(
                baked_venv, servers, "workflow", "execute", "--type", WORKFLOW_TYPE,
                "--task-queue", TASK_QUEUE, "--input-file", str(project / "examples" /
                "kardashian.json"), "--output", "json",
            )  # fmt: skip
            assert example.returncode == 0, example.stdout + example.stderr
            assert '"upserted": 6' in example.stdout.replace('":', '": ').replace("  ", " ")
            assert rows(baked_venv, servers) == (6, 6)

            # The large example, and SIGTERM once its first batches are in.
            large = f"large-{uuid.uuid4().hex[:8]}"
            started_large = temporal(
                baked_venv, servers, "workflow", "start", "--type", WORKFLOW_TYPE,
                "--task-queue", TASK_QUEUE, "--workflow-id", large, "--input-file",
                str(project / "examples" / "kardashian_large.json"),
            )  # fmt: skip
            assert started_large.returncode == 0, started_large.stderr
            deadline = time.monotonic() + 120
            while rows(baked_venv, servers)[0] <= 6:
                assert time.monotonic() < deadline, "the large example wrote nothing in 120 s"
                time.sleep(0.2)
            stop_began = time.monotonic()
            subprocess.run(
                [podman(), "stop", "--time", str(STOP_GRACE_SECONDS), first],
                env=podman_env, check=True, capture_output=True,
            )  # fmt: skip
            stop_seconds = time.monotonic() - stop_began
            exit_code = inspect(first, podman_env, "{{.State.ExitCode}}")
            stopped_log = logs(first, podman_env)
        finally:
            remove(first, podman_env)
        assert exit_code == "0", stopped_log
        assert stop_seconds < STOP_GRACE_SECONDS, f"stopped only by SIGKILL: {stopped_log}"
        assert "worker stopped in" in stopped_log
        written = rows(baked_venv, servers)[0]
        assert 6 < written < 6 + LARGE_TOTAL, "SIGTERM came after the run ended"

        second = f"worker-{uuid.uuid4().hex[:8]}"
        detach(run, second, image, podman_env)
        try:
            result = temporal(baked_venv, servers, "workflow", "result", "--workflow-id", large)
            finished_log = logs(second, podman_env)
        finally:
            remove(second, podman_env)
        assert result.returncode == 0, result.stdout + result.stderr + finished_log
        assert f"{LARGE_TOTAL}" in result.stdout
        # Every item once: the large example's million and six, and the six example rows
        # it shares its keys with.
        assert rows(baked_venv, servers) == (LARGE_TOTAL, LARGE_TOTAL)
        print(f"SIGTERM after {written - 6:,} of {LARGE_TOTAL:,} items: exit 0 in "
              f"{stop_seconds:.1f} s; a new container finished the job")  # fmt: skip

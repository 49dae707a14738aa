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

import base64
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
import yaml
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
    (docs/shipping.md, "Deploying a new build"): the server accepts it once the worker has
    polled."""
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


@dataclass(frozen=True)
class Built:
    project: Path
    image: str


@pytest.fixture(scope="module")
def built(cookies_session: Cookies, baked_venv: Path, podman_env: dict[str, str]) -> Built:
    """The defaults, baked and installed (the host's servers come from that venv), and
    their image built with ``make image`` on the stand-in base."""
    project = bake_ok(cookies_session, {})
    assert make(project, baked_venv).returncode == 0
    image = f"localhost/kardashian-tracker:{BUILD_ID}"
    started = time.monotonic()
    made = subprocess.run(
        ["make", "image", f"IMAGE={image}", f"BUILD_ID={BUILD_ID}", f"PYTHON_IMAGE={BASE_IMAGE}",
         f"IMAGE_CA={CA_BUNDLE}", "IMAGE_BUILD_ARGS=--network host", f"VENV={baked_venv}"],
        cwd=project, env=podman_env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    size = int(inspect(image, podman_env, "{{.Size}}"))
    base = int(inspect(BASE_IMAGE, podman_env, "{{.Size}}"))
    print(f"\nimage {image}: {size / 1e6:.0f} MB ({(size - base) / 1e6:.0f} MB over its base), "
          f"built in {time.monotonic() - started:.0f} s")  # fmt: skip
    return Built(project, image)


@pytest.fixture(scope="module")
def servers(
    built: Built, baked_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostServers]:
    with host_servers(baked_venv, built.project, tmp_path_factory.mktemp("servers")) as started:
        yield started


def example(venv: Path, servers: HostServers, project: Path) -> subprocess.CompletedProcess[str]:
    """The example, started by type name with the temporal CLI, waited for."""
    return temporal(
        venv, servers, "workflow", "execute", "--type", WORKFLOW_TYPE, "--task-queue",
        TASK_QUEUE, "--input-file", str(project / "examples" / "kardashian.json"),
        "--output", "json",
    )  # fmt: skip


def upserted(execution: subprocess.CompletedProcess[str]) -> int:
    """The ``upserted`` count in ``temporal workflow execute --output json``'s result."""
    assert execution.returncode == 0, execution.stdout + execution.stderr
    count: int = json.loads(execution.stdout)["result"]["upserted"]
    return count


@pytest.mark.slow
def test_the_image_is_labelled_runs_as_its_user_and_holds_no_build_leftovers(
    built: Built, podman_env: dict[str, str]
) -> None:
    image = built.image
    labels = json.loads(inspect(image, podman_env, "{{json .Config.Labels}}"))
    assert labels["org.opencontainers.image.revision"] == BUILD_ID
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    config = json.loads(inspect(image, podman_env, "{{json .Config}}"))
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["python", "-m", PACKAGE] and config["Cmd"] == ["worker"]
    assert f"BUILD_ID={BUILD_ID}" in config["Env"]
    # Nothing of the build is left: no uv, no tests, no benchmark, no cache, no CA bundle
    # of the build's.
    site = "/opt/venv/lib/python*/site-packages"
    leftovers = subprocess.run(
        [podman(), "run", "--rm", "--entrypoint", "sh", image, "-c",
         "ls -d /opt/uv /build /root/.cache/uv /run/secrets/ca "
         f"{site}/tests {site}/bench {site}/{PACKAGE}/bench 2>/dev/null; "
         "command -v uv gcc cc || true"],
        env=podman_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert leftovers.stdout.strip() == "", leftovers.stdout


@pytest.mark.slow
def test_the_worker_runs_locked_down_and_sigterm_mid_run_loses_nothing(
    built: Built, baked_venv: Path, podman_env: dict[str, str], servers: HostServers
) -> None:
    image, project = built.image, built.project
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
        assert upserted(example(baked_venv, servers, project)) == 6
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
        memory = inspect_stats(first, podman_env)
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
    print(f"\nSIGTERM after {written - 6:,} of {LARGE_TOTAL:,} items: exit 0 in "
          f"{stop_seconds:.1f} s; a new container finished the job. Worker memory "
          f"mid-run: {memory}")  # fmt: skip


def inspect_stats(container: str, env: dict[str, str]) -> str:
    shown = subprocess.run(
        [podman(), "stats", "--no-stream", "--format", "{{.MemUsage}}", container],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return shown.stdout.strip() or "unknown"


@pytest.mark.slow
def test_the_kubernetes_deployment_runs_with_podman_kube_play(
    built: Built, baked_venv: Path, podman_env: dict[str, str], servers: HostServers,
    tmp_path: Path,
) -> None:  # fmt: skip
    """deploy/kubernetes/'s ConfigMap and Deployment as they are, but for what differs on
    one machine: the image's name, one replica, the host's network (so free ports, given
    by number) and database socket, and a Secret the test writes (the repository holds
    none)."""
    manifests = built.project / "deploy" / "kubernetes"
    settings = yaml.safe_load((manifests / "configmap.yaml").read_text(encoding="utf-8"))
    deployment = yaml.safe_load((manifests / "deployment.yaml").read_text(encoding="utf-8"))
    settings["data"]["TEMPORAL_ADDRESS"] = servers.temporal_address
    health = free_port_pair(1)
    pod = deployment["spec"]["template"]["spec"]
    deployment["spec"]["replicas"] = 1
    pod["hostNetwork"] = True
    [worker] = pod["containers"]
    worker["image"] = built.image
    for entry in worker["env"]:
        if entry["name"] == "HEALTH_ADDRESS":
            entry["value"] = f"127.0.0.1:{health}"
        if entry["name"] == "METRICS_ADDRESS":
            entry["value"] = f"127.0.0.1:{health + 1}"
    # On the host's network podman maps no ports: the probes name the port by number.
    del worker["ports"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        worker[probe]["httpGet"]["port"] = health
    pod["volumes"].append({"name": "pg", "hostPath": {"path": servers.socket_dir}})
    worker["volumeMounts"].append({"name": "pg", "mountPath": servers.socket_dir})
    # podman 4.3 reads a Deployment's secretKeyRef from its own secret store, as a JSON
    # map of each key to its base64 value (one it writes itself from a Secret in the
    # YAML, it cannot read back), so the test puts the Secret there.
    secret_name = worker["env"][0]["valueFrom"]["secretKeyRef"]["name"]
    secret = {"DATABASE_URL": base64.b64encode(servers.database_url.encode()).decode()}
    (tmp_path / "secret.json").write_text(json.dumps(secret), encoding="utf-8")
    forget_secret = [podman(), "secret", "rm", secret_name]
    subprocess.run(forget_secret, env=podman_env, capture_output=True, check=False)
    subprocess.run(
        [podman(), "secret", "create", secret_name, str(tmp_path / "secret.json")],
        env=podman_env, capture_output=True, check=True,
    )  # fmt: skip
    played = tmp_path / "kube.yaml"
    played.write_text(yaml.safe_dump_all([settings, deployment]), encoding="utf-8")
    # The pre-rollout Job's steps, in its order, in the image: the schema, the schedules.
    job = yaml.safe_load((manifests / "init-db-job.yaml").read_text(encoding="utf-8"))
    job_pod = job["spec"]["template"]["spec"]
    steps = [step["args"] for step in (*job_pod["initContainers"], *job_pod["containers"])]
    assert steps == [["init-db"], ["schedules", "apply"]]
    run = [podman(), "run", *container_args(servers, free_port_pair(1))]
    for step in steps:
        done = subprocess.run(
            [*run, "--rm", built.image, *step], env=podman_env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 schedule: 1 created", done.stdout
    up = subprocess.run(
        [podman(), "kube", "play", str(played)], env=podman_env, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        deadline = time.monotonic() + 60
        while readyz(health) != 200:
            assert time.monotonic() < deadline, f"/readyz not 200 within 60 s: {up.stdout}"
            time.sleep(0.5)
        make_current(baked_venv, servers)
        assert upserted(example(baked_venv, servers, built.project)) == 6
    finally:
        subprocess.run(
            [podman(), "kube", "down", str(played)], env=podman_env, capture_output=True,
            timeout=120, check=False,
        )  # fmt: skip
        subprocess.run(forget_secret, env=podman_env, capture_output=True, check=False)

"""Settings read from the environment, in one place.

Temporal connection settings (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
``TEMPORAL_API_KEY``, ``TEMPORAL_TLS*`` and profiles in ``temporal.toml``) are read
by ``temporalio.envconfig`` in :mod:`.temporal.client`; this module only says
whether any were given, so that ``dev`` knows to start an embedded server.
"""

from __future__ import annotations

import os
from datetime import timedelta

DEFAULT_TEMPORAL_ADDRESS = "localhost:7233"
# codec-server's: loopback, since whoever reaches it reads every payload.
DEFAULT_CODEC_ADDRESS = "127.0.0.1:8081"


def database_url() -> str | None:
    """The PostgreSQL URL from ``DATABASE_URL``, or None when it is unset."""
    return os.environ.get("DATABASE_URL") or None


def temporal_address() -> str | None:
    """The Temporal address from ``TEMPORAL_ADDRESS``, or None when it is unset."""
    return os.environ.get("TEMPORAL_ADDRESS") or None


def temporal_configured() -> bool:
    """True when the environment names a Temporal server: an address, or a profile
    (``TEMPORAL_PROFILE``) or profile file (``TEMPORAL_CONFIG_FILE``) to read it from."""
    names = ("TEMPORAL_ADDRESS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")
    return any(os.environ.get(name) for name in names)


def metrics_address() -> str | None:
    """Where to serve Prometheus metrics, ``host:port`` from ``METRICS_ADDRESS``, or None."""
    return os.environ.get("METRICS_ADDRESS") or None


def numbered_records() -> bool:
    """``NUMBERED_RECORDS``: "on" (the default) lets a job's ``key_range`` write numbered
    stand-in records, for the benchmark and the large example; "off" refuses them."""
    value = (os.environ.get("NUMBERED_RECORDS") or "on").lower()
    if value not in ("on", "off"):
        raise ValueError(f"NUMBERED_RECORDS={value!r} is invalid: must be on or off")
    return value == "on"


LOG_FORMATS = ("text", "json")


def log_format() -> str:
    """``LOG_FORMAT``: "text" (the default, for people) or "json" (one object per line)."""
    value = (os.environ.get("LOG_FORMAT") or "text").lower()
    if value not in LOG_FORMATS:
        allowed = ", ".join(LOG_FORMATS)
        raise ValueError(f"LOG_FORMAT={value!r} is invalid: must be one of {allowed}")
    return value


def health_address() -> str | None:
    """Where to answer /healthz and /readyz, ``host:port`` from ``HEALTH_ADDRESS``, or None."""
    return os.environ.get("HEALTH_ADDRESS") or None


# The service's name: its Worker Deployment's by default, and the owner its Schedules
# carry in their memo, so that `schedules apply` never touches another service's.
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
DEFAULT_DEPLOYMENT_NAME = SERVICE_NAME


# What Temporal's worker controller injects into each worker pod it manages: read first,
# so that a pod the controller runs is the version the controller routes to.
CONTROLLER_BUILD_ID = "TEMPORAL_WORKER_BUILD_ID"
CONTROLLER_DEPLOYMENT_NAME = "TEMPORAL_DEPLOYMENT_NAME"


def build_id() -> str | None:
    """This build's id: the worker controller's ``TEMPORAL_WORKER_BUILD_ID``, else
    ``BUILD_ID`` (a git commit, say); workers then run versioned."""
    return os.environ.get(CONTROLLER_BUILD_ID) or os.environ.get("BUILD_ID") or None


def deployment_name() -> str:
    """The Worker Deployment the builds are versions of: the worker controller's
    ``TEMPORAL_DEPLOYMENT_NAME``, else ``DEPLOYMENT_NAME``, else the service's name."""
    return (
        os.environ.get(CONTROLLER_DEPLOYMENT_NAME)
        or os.environ.get("DEPLOYMENT_NAME")
        or DEFAULT_DEPLOYMENT_NAME
    )


# Activities still running this long after a worker begins to stop are cancelled, and
# the server retries them on another worker. A batch takes milliseconds, so 5 s is
# ample here; a team whose activities take longer raises it, and the pod's
# terminationGracePeriodSeconds with it (deploy/kubernetes/deployment.yaml).
DEFAULT_GRACEFUL_SHUTDOWN_SECONDS = 5.0


def graceful_shutdown() -> timedelta:
    """``GRACEFUL_SHUTDOWN_SECONDS``: how long a stopping worker lets activities in flight
    finish (default 5)."""
    text = os.environ.get("GRACEFUL_SHUTDOWN_SECONDS") or str(DEFAULT_GRACEFUL_SHUTDOWN_SECONDS)
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ValueError(
            f"GRACEFUL_SHUTDOWN_SECONDS={text!r} is invalid: must be seconds from 0 to 3600"
        )
    return timedelta(seconds=seconds)

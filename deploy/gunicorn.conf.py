"""gunicorn for the REST API and admin (WSGI), the ``web`` service of docker-compose.yml.

Sockets and the SSE stream are served by daphne (ASGI); the reverse proxy routes them there.
Each worker process writes its Prometheus samples to ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``
sums them (``casinoclub.ops.views.prometheus_metrics``), so one scrape covers every worker.
"""

import os
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
max_requests = 10_000  # recycle workers now and then; jitter keeps them from restarting together
max_requests_jitter = 1_000
accesslog = "-"


class ClientAddressLogger(Logger):
    """The access log's ``%(h)s`` is the client (``casinoclub.client_address``), not the proxy."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        from casinoclub.client_address import client_address_from_meta  # Django is set up by now

        atoms["h"] = client_address_from_meta(environ) or "-"
        return atoms


logger_class = ClientAddressLogger
forwarded_allow_ips = "*"  # only the reverse proxy reaches this port on the compose network


def on_starting(server: Any) -> None:
    """Start from an empty metrics directory: samples of a previous run's processes are stale."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges must stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)

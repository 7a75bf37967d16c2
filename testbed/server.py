"""The Django site under gunicorn on a free 127.0.0.1 port, as `make serve` runs it
(`gunicorn -c site/gunicorn.conf.py`), with its access log and error log read line by line."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POLL_S = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    """A running gunicorn: `access` holds its access log's lines, `log` its error log's."""

    url: str
    process: subprocess.Popen
    access: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url).port

    def models_loaded(self) -> int:
        """How many workers have logged their model as loaded (post_worker_init)."""
        return sum("mri_site.classifier: model" in line and " loaded from " in line for line in self.log)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _drain(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line.rstrip())


def start_gunicorn(settings: dict[str, str | None] | None = None, server_class: type[Gunicorn] = Gunicorn) -> Gunicorn:
    """gunicorn on a free port with this environment plus `settings` (None unsets a name), and the
    secret key `make serve` uses: $DJANGO_SECRET_KEY, else a fresh one. Not yet ready: see
    wait_until_ready."""
    env = dict(os.environ, DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
               TF_CPP_MIN_LOG_LEVEL="2")
    for name, value in (settings or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "site" / "gunicorn.conf.py"), "--bind",
         f"127.0.0.1:{port}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = server_class(f"http://127.0.0.1:{port}/", process)
    # The access log goes to stdout, the error log to stderr: both are drained so gunicorn never blocks.
    threading.Thread(target=_drain, args=(process.stdout, server.access), daemon=True).start()
    threading.Thread(target=_drain, args=(process.stderr, server.log), daemon=True).start()
    return server


def healthy(server: Gunicorn) -> bool:
    try:
        with urllib.request.urlopen(server.url + "api/health", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until_ready(server: Gunicorn, timeout_s: float, workers: int = 1) -> None:
    """Until /api/health answers 200 and `workers` workers have loaded the model; stops the server
    and raises RuntimeError, with the end of its log, when it exits or the time is up."""
    deadline = time.monotonic() + timeout_s
    while not (server.models_loaded() >= workers and healthy(server)):
        problem = ("exited while starting" if server.process.poll() is not None
                   else f"was not ready in {timeout_s:.0f} s" if time.monotonic() > deadline else None)
        if problem:
            server.stop()
            raise RuntimeError(f"gunicorn {problem}:\n" + "\n".join(server.log[-40:]))
        time.sleep(POLL_S)

"""gunicorn settings for `make serve`, and for production: `gunicorn -c site/gunicorn.conf.py`.

Sized for a small CPU box: one worker process per core, each with a few threads. A worker holds
its own copy of TensorFlow and the model (see reports/bench.md); its threads share them, and the
prediction itself releases the GIL. More cores: raise WEB_CONCURRENCY (workers); more waiting on
slow clients: raise GUNICORN_THREADS. Each worker loads the model when it starts (post_worker_init),
not in the master: TensorFlow's thread pools do not survive a fork.
"""
import os
from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


wsgi_app = "mri_site.wsgi:application"
chdir = str(SITE_DIR)
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", _cores()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A prediction takes milliseconds; a request still running after this is stuck.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Uploads are parsed by Django in memory; headers stay at gunicorn's (already small) limits.
limit_request_line = 4094
# Heartbeat files in memory, not on disk; no control socket file either.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"


def post_worker_init(worker):
    from mri_site.classifier import ModelUnavailable, get_classifier

    try:
        get_classifier()
    except ModelUnavailable as err:
        # Keep serving the page: its answer never needs this model. /api/health reports 503 and
        # /api/predict retries the load on each request until the files are back.
        worker.log.error("model not loaded: %s", err)

"""The Django project that serves frontend/ and the Keras fallback API (see site/README in the
project README, section "Server")."""
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# training/ holds the one Python definition of "image bytes -> model input"; the server imports it
# rather than keeping a copy, however the site is started (manage.py, gunicorn, tests).
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

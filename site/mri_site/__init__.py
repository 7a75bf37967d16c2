"""The Django project that serves frontend/ and the Keras fallback API (the README's "Server")."""
from pathlib import Path

# The checkout this package sits in (site/mri_site/): frontend/ and its model are found from here.
REPO_ROOT = Path(__file__).resolve().parents[2]

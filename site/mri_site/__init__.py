"""The Django project that serves frontend/ and the Keras fallback API (docs/api.md)."""
from pathlib import Path

# The checkout this package sits in (site/mri_site/): frontend/ and its model are found from here.
REPO_ROOT = Path(__file__).resolve().parents[2]

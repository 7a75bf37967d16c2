"""WSGI entry point for gunicorn (`make serve`; configuration in site/gunicorn.conf.py)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mri_site.settings")
application = get_wsgi_application()

#!/usr/bin/env python
"""Django's command line for the site: `python site/manage.py collectstatic`, `check`, ..."""
import os
import sys
from pathlib import Path


def main():
    # `site` is a standard-library module name, so this folder is not a package: put it on the path
    # instead, wherever the command is started from.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mri_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

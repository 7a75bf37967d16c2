from django.contrib.staticfiles.apps import StaticFilesConfig


class FrontendStaticFilesConfig(StaticFilesConfig):
    """django.contrib.staticfiles, publishing only the page from frontend/: its Node tests and
    notes stay out of collectstatic's copy (dotfiles such as vendor/.installed already do)."""

    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "tests", "*.md", "package.json"]

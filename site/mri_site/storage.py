"""collectstatic's storage for the page: whitenoise's compressed, content-hashed copies, made
robust to vendored JavaScript.

Django's manifest storage rewrites `sourceMappingURL` comments to hashed names and fails the whole
collectstatic when a comment names a .map file that is not shipped, which is normal for vendored
npm bundles. Source maps are a debugging aid, not part of the page, so their comments are left as
they are; `url()` and `@import` in CSS are still rewritten (and still fail loudly when they name a
missing file: that is a real bug in the page).

The page keeps loading plain names (it must work from any static host), so the unhashed files are
kept beside the hashed ones (WHITENOISE_KEEP_ONLY_HASHED_FILES stays False); mri_site/caching.py
decides how long each may be cached.
"""
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_map_patterns(patterns):
    kept = []
    for glob, rules in patterns:
        rules = tuple(rule for rule in rules
                      if "sourceMappingURL" not in (rule[0] if isinstance(rule, tuple) else rule))
        if rules:
            kept.append((glob, rules))
    return tuple(kept)


class FrontendStaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_map_patterns(CompressedManifestStaticFilesStorage.patterns)
    # A name missing from the manifest resolves to itself instead of raising: the page never asks
    # Django for URLs, but nothing should 500 if something does.
    manifest_strict = False

# Two commands: `make serve` and `make test`. Each installs what is missing first; a second run
# skips what is done (stamp files record it).
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
VENDOR_STAMP := frontend/vendor/.installed
# TensorFlow's C++ start-up chatter hides the output that matters.
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install serve test test-python test-js chromium firefox dcmtk bench static clean screenshots

install: $(PY_STAMP) $(NODE_STAMP) $(VENDOR_STAMP)

$(PY_STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	# The converter without its optional stack (jax, flax, TF-DF, TF 2.19): see README "Converting".
	$(PY) -m pip install --disable-pip-version-check -q --no-deps tensorflowjs==4.22.0
	# The project's own packages (pyproject.toml), editable: imported by name from anywhere.
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENDOR_STAMP): $(NODE_STAMP) scripts/vendor.mjs
	node scripts/vendor.mjs
	touch $@

# Debian's chromium for the browser tests; never a test tool's own browser download.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "Debian's chromium is missing: run 'sudo apt-get install chromium' and retry." >&2; exit 1; fi; }

# Debian's Firefox ESR for the second-engine smoke test (tests/e2e/test_e2e_firefox.py, driven by
# puppeteer-core over WebDriver BiDi), installed the same way.
firefox:
	@command -v firefox-esr >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q firefox-esr; \
	  else echo "Debian's firefox-esr is missing: run 'sudo apt-get install firefox-esr' and retry." >&2; exit 1; fi; }

# Debian's dcmtk (dcmcjpeg, dcmcjpls, dcmcrle): the compressed-DICOM tests encode real slices
# with it at test time (tests/compressed_samples.py), so no large fixture is committed.
dcmtk:
	@command -v dcmcjpls >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dcmtk; \
	  else echo "Debian's dcmtk is missing: run 'sudo apt-get install dcmtk' and retry." >&2; exit 1; fi; }

# The browser tests (tests/e2e) serve the collected static files through gunicorn.
test: install chromium firefox dcmtk static
	$(PY) -m pytest -q
	node --test frontend/tests/

# The site (site/, README "Server"). Locally, a fresh secret key per run is enough: the site
# signs nothing that must outlive a restart. Production sets its own DJANGO_SECRET_KEY.
STATIC_STAMP := site/staticfiles/.collected
SITE_ENV = export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')}"
.PHONY: bench-api

# frontend/ -> site/staticfiles/: compressed copies and a content-hash manifest for whitenoise.
# Reruns only when a file of the page or the site changes; restart a running server afterwards.
static: $(STATIC_STAMP)

$(STATIC_STAMP): $(PY_STAMP) $(VENDOR_STAMP) $(shell find frontend site/mri_site -type f -not -path 'frontend/vendor/*' -not -path 'frontend/tests/*' -not -path '*/__pycache__/*' 2>/dev/null)
	$(SITE_ENV); $(PY) site/manage.py collectstatic --noinput --clear -v 0
	touch $@

serve: install static
	$(SITE_ENV); exec $(VENV)/bin/gunicorn -c site/gunicorn.conf.py --bind 127.0.0.1:$(PORT)

# 8 concurrent clients against a real gunicorn on loopback, then the page (headless Chromium)
# against the API on real slices; writes reports/bench-api.md.
bench-api: install static chromium
	$(SITE_ENV); $(PY) -m bench.api_bench --agreement 200 --report reports/bench-api.md

# Everything in one run: the page (headless Chromium), native Keras on the same model and images
# (the page/native ratio), the API under load and a whole NIfTI volume in the page
# (bench/volume_bench.py); writes reports/bench.md.
bench: install static chromium
	$(SITE_ENV); $(PY) -m bench.run_all --report reports/bench.md

clean:
	rm -rf $(VENV) node_modules frontend/vendor site/staticfiles

# The page in each state it can be in (tests/e2e), as reports/screenshots/<state>.png: the
# committed screenshots. `make test` writes the same shots to the ignored .cache/screenshots.
screenshots: install chromium static
	MRI_SCREENSHOTS=$(CURDIR)/reports/screenshots $(PY) -m pytest -q tests/e2e/test_e2e_page.py \
	  tests/e2e/test_e2e_keras.py::test_the_page_shows_keras_label_for_each_uploaded_file

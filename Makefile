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

.PHONY: install serve lint test test-python test-js chromium firefox dcmtk bench static clean screenshots reports reports-training

install: $(PY_STAMP) $(NODE_STAMP) $(VENDOR_STAMP)

$(PY_STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	# The converter without its optional stack (jax, flax, TF-DF, TF 2.19): see docs/training.md.
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

# ruff over the Python (pyproject.toml says which rules), ESLint over the JavaScript (eslint.config.js).
lint: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m ruff check .
	node_modules/.bin/eslint .

# The browser tests (tests/e2e) serve the collected static files through gunicorn.
test: install lint chromium firefox dcmtk static
	$(PY) -m pytest -q
	node --test frontend/tests/

# The site (site/, docs/api.md). Locally, a fresh secret key per run is enough: the site
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

# The current reports (reports/), each rewritten by the command it names. `make reports` reruns the
# cheap ones, in minutes: operating points (which also rewrite the page's cut-offs in
# frontend/model/metadata.json), the feature scope (its block in metadata.json), the sequence probe, the volume report, the conversion report, the
# not-MRI rule, the benchmarks (`make bench`, training throughput), then the README's model card. The training reports
# (final model, comparisons, leave one collection out) take hours on a CPU, so `make reports` only
# prints their commands (`make reports-training`); run them by hand, then `make reports` again.
DATA ?= ../shared/data
COLLECTIONS = $(addprefix $(DATA)/,brain-mri-4class brain-mri-lgg-flair brain-mri-brats brain-mri-alzheimer-t1 brain-mri-openneuro-t1)
UNSEEN = $(DATA)/brain-mri-yes-no
SHIPPED = frontend/model/model.h5

reports: install chromium
	$(PY) -m training.operating_points --model $(SHIPPED) --data $(COLLECTIONS) --external $(UNSEEN) \
	  --report reports/operating-points.md --write-decision frontend/model/metadata.json
	$(PY) -m training.feature_scope --model $(SHIPPED) --split reports/final-model/split.csv \
	  --report reports/feature-scope.md --write-metadata frontend/model/metadata.json
	$(PY) -m training.sequence_probe --model $(SHIPPED) --data $(COLLECTIONS) --report reports/sequence-probe.md
	$(PY) -m training.volume_report --model $(SHIPPED) --volumes $(DATA)/volumes/brats2018 --report reports/volumes.md
	$(PY) -m convert.report --model $(SHIPPED) --split reports/final-model/split.csv --subset test --limit 1000
	$(MAKE) static
	$(PY) -m bench.ood_rule --report reports/ood-rule.md
	$(MAKE) bench
	$(PY) -m bench.train_bench --report reports/train-bench.md
	$(PY) -m training.model_card
	@$(MAKE) --no-print-directory reports-training

reports-training:
	@echo "The training reports take hours on a CPU; rerun them by hand (then make reports):"
	@echo "  $(PY) -m training.train --data $(COLLECTIONS) --external $(UNSEEN) --model compact --out runs/final --report reports/final-model.md --ship frontend/model"
	@echo "    (reports/final-model.md names the flags of the shipped model's runs; then: $(PY) -m convert --model frontend/model/model.h5 --out frontend/model/)"
	@echo "  $(PY) -m training.compare --data $(COLLECTIONS) --external $(UNSEEN) --out runs/compare --report reports/comparison.md --epochs 30 --max-minutes 10"
	@echo "  $(PY) -m training.compare --data $(UNSEEN) --out runs/compare-yes-no --report reports/comparison-yes-no.md --epochs 40 --max-minutes 4"
	@echo "  $(PY) -m training.loco --data $(COLLECTIONS) --external $(UNSEEN) --out runs/loco --report reports/loco.md --epochs 8 --max-minutes 12"
	@echo "  $(PY) -m training.loco --data $(COLLECTIONS) --external $(UNSEEN) --out runs/loco-shipped-length --report reports/loco-shipped-length.md --epochs 64 --max-minutes 150 --paste-share 0 --resume"
	@echo "    (the shipped model's length, fold after fold over several sittings: commit reports/loco-shipped-length/ after each)"

clean:
	rm -rf $(VENV) node_modules frontend/vendor site/staticfiles

# The page in each state it can be in (tests/e2e), as reports/screenshots/<state>.png: the
# committed screenshots. `make test` writes the same shots to the ignored .cache/screenshots.
screenshots: install chromium static
	MRI_SCREENSHOTS=$(CURDIR)/reports/screenshots $(PY) -m pytest -q tests/e2e/test_e2e_page.py \
	  tests/e2e/test_e2e_keras.py::test_the_page_shows_keras_label_for_each_uploaded_file

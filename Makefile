# Two commands: `make serve` and `make test`. Each installs what is missing first; a second run
# skips what is done (stamp files record it).
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
VENDOR_STAMP := frontend/vendor/.installed
export PYTHONPATH := $(CURDIR)
# TensorFlow's C++ start-up chatter hides the output that matters.
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install serve test test-python test-js chromium bench static clean

install: $(PY_STAMP) $(NODE_STAMP) $(VENDOR_STAMP)

$(PY_STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	# The converter without its optional stack (jax, flax, TF-DF, TF 2.19): see README "Converting".
	$(PY) -m pip install --disable-pip-version-check -q --no-deps tensorflowjs==4.22.0
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

test: install chromium
	$(PY) -m pytest -q
	node --test frontend/tests/

clean:
	rm -rf $(VENV) node_modules frontend/vendor site/staticfiles

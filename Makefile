# The template's two commands: `make demo` and `make test-all`. Both need only Python 3.10+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Baked services share one virtual environment, so temporalio, the Temporal CLI and
# PostgreSQL are installed once for every variant the tests bake.
BAKED_VENV ?= $(CURDIR)/.venv-baked
DEMO_DIR ?= $(CURDIR)/build/demo

# Root installs system packages itself; anyone else through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test test-growth test-image test-pythons test-all check check-machinery chromium podman node lock histories clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

## demo: bake a service with the default answers into build/demo and run its example workflow end to end
demo: $(VENV)/.installed
	rm -rf $(DEMO_DIR)
	mkdir -p $(DEMO_DIR)
	$(VENV)/bin/cookiecutter --no-input --output-dir $(DEMO_DIR) .
	$(MAKE) -C $(DEMO_DIR)/kardashian-tracker demo

## check: lint and type-check the template's own code (hooks, tests, filters) and the service's machinery
check: $(VENV)/.installed check-machinery
	$(VENV)/bin/ruff check hooks tests local_extensions.py record_fields.py schedule_answer.py workflow tools
	$(VENV)/bin/ruff format --check hooks tests local_extensions.py record_fields.py schedule_answer.py workflow tools
	$(VENV)/bin/mypy --strict hooks tests local_extensions.py record_fields.py schedule_answer.py tools
	cd workflow && $(CURDIR)/$(VENV)/bin/mypy --strict --config-file ../pyproject.toml hooks workflow_extensions.py

# The service template's package is plain Python but for its workflow module, which holds
# the bake's names: ruff and mypy --strict read the machinery as it stands, before any bake.
# A bake of the defaults lends them its pyproject.toml (the template's own is Jinja) and
# installs the dependencies into the shared venv; mypy needs an identifier for the
# package's name, so it reads the package through a link.
SERVICE_PACKAGE := {{cookiecutter.project_slug}}/src/{{cookiecutter.package_name}}
CHECK_DIR := $(CURDIR)/build/check
CHECK_SERVICE := $(CHECK_DIR)/kardashian-tracker
## check-machinery: ruff and mypy --strict on the service template's machinery, unbaked
check-machinery: $(VENV)/.installed
	rm -rf $(CHECK_DIR)
	$(VENV)/bin/cookiecutter --no-input --output-dir $(CHECK_DIR) .
	$(MAKE) -s -C $(CHECK_SERVICE) install VENV=$(BAKED_VENV)
	$(BAKED_VENV)/bin/ruff check --config $(CHECK_SERVICE)/pyproject.toml \
	  --extend-exclude '*workflow_module*' $(SERVICE_PACKAGE)
	$(BAKED_VENV)/bin/ruff format --check --config $(CHECK_SERVICE)/pyproject.toml \
	  --extend-exclude '*workflow_module*' $(SERVICE_PACKAGE)
	ln -s $(CURDIR)/$(SERVICE_PACKAGE) $(CHECK_DIR)/machinery
	cd $(CHECK_DIR) && MYPY_CACHE_DIR=$(BAKED_VENV)/.mypy_cache $(BAKED_VENV)/bin/mypy --strict \
	  --config-file $(CHECK_SERVICE)/pyproject.toml \
	  --exclude '/\{\{cookiecutter\.workflow_module\}\}/' -p machinery

## chromium: the headless browser tests/test_web_ui.py drives, from the system's packages if missing
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  $(SUDO) apt-get install -y --no-install-recommends chromium || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

## podman: what tests/test_image.py builds and runs images with, from the system's packages if missing
podman:
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v mmdebstrap >/dev/null && \
	  command -v catatonit >/dev/null || \
	  $(SUDO) apt-get install -y --no-install-recommends podman runc catatonit mmdebstrap || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends podman runc catatonit mmdebstrap; }

## node: Node.js, for KEDA's ScaledObject validator (tests/keda/), from the system's packages if missing
node:
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  $(SUDO) apt-get install -y --no-install-recommends nodejs npm || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends nodejs npm; }

# The validator KEDA's CRD schema generates, at the version tests/keda/package-lock.json pins.
KEDA_VALIDATOR := tests/keda/node_modules/.package-lock.json
$(KEDA_VALIDATOR): tests/keda/package.json tests/keda/package-lock.json | node
	cd tests/keda && npm ci --no-audit --no-fund --silent

## test: check the template's code, bake the defaults and variants, run every baked service's own
## tests (within 15 min on 2 cores; the growth tests, slow by nature, run apart)
test: check chromium $(KEDA_VALIDATOR)
	BAKED_VENV=$(BAKED_VENV) $(VENV)/bin/pytest tests -m "not growth and not image and not pythons" --durations=12

## test-growth: a baked service grows by the workflow/ sub-template and takes a template update
test-growth: $(VENV)/.installed
	BAKED_VENV=$(BAKED_VENV) $(VENV)/bin/pytest tests -m growth --durations=5

## test-image: a baked service's image, built with podman and run as a cluster would run it
test-image: $(VENV)/.installed podman
	BAKED_VENV=$(BAKED_VENV) $(VENV)/bin/pytest tests -m image --durations=5 -s

## test-pythons: a default bake's `make test` on the oldest and the newest Python it claims
## (its CI's matrix), each found on the PATH, in pyenv's versions or uv's; a missing one fails
test-pythons: $(VENV)/.installed
	BAKED_VENV=$(BAKED_VENV) $(VENV)/bin/pytest tests -m pythons --durations=5

## test-all: every test of the template (what .ci/run runs)
test-all: test test-growth test-pythons test-image

## lock: pin the baked services' dependencies anew in the template's uv.lock (after changing
## their pyproject.toml); bakes the defaults, locks them, and puts the name back as a variable
LOCK_DIR := $(CURDIR)/build/lock
BAKED_LOCK := {{cookiecutter.project_slug}}/uv.lock
lock: $(VENV)/.installed
	rm -rf $(LOCK_DIR)
	$(VENV)/bin/cookiecutter --no-input --output-dir $(LOCK_DIR) .
	cd $(LOCK_DIR)/kardashian-tracker && $(CURDIR)/$(VENV)/bin/uv lock $(UV_LOCK_ARGS)
	sed 's/^name = "kardashian-tracker"$$/name = "{{ cookiecutter.project_slug }}"/' \
	  $(LOCK_DIR)/kardashian-tracker/uv.lock > '$(BAKED_LOCK)'
	grep -c 'cookiecutter.project_slug' '$(BAKED_LOCK)'

## histories: record the baked services' replay histories anew (after a change to workflow code
## that running workflows need not survive); bakes the defaults, records, turns names into variables
HISTORIES_DIR := $(CURDIR)/build/histories
BAKED_HISTORIES := {{cookiecutter.project_slug}}/tests/histories
histories: $(VENV)/.installed
	rm -rf $(HISTORIES_DIR)
	$(VENV)/bin/cookiecutter --no-input --output-dir $(HISTORIES_DIR) .
	$(MAKE) -C $(HISTORIES_DIR)/kardashian-tracker install VENV=$(BAKED_VENV)
	cd $(HISTORIES_DIR)/kardashian-tracker && rm -f tests/histories/*.json && \
	  $(BAKED_VENV)/bin/python -m kardashian_tracker record-history --examples
	$(PY) tools/history_templates.py $(HISTORIES_DIR)/kardashian-tracker '$(BAKED_HISTORIES)'

clean:
	rm -rf $(VENV) $(BAKED_VENV) $(BAKED_VENV)-python* build .pytest_cache .mypy_cache .ruff_cache

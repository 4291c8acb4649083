# The commands of the README: `make run`, `make check` and `make test`. `.ci/run` calls `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run check test lint setup prism chromium broker-start broker-stop flink-start flink-stop

setup: $(STAMP)

# camel-tools declares torch and transformers, which marsad never imports: the lock holds every
# package marsad does use, installed without dependency resolution (README, "Dependencies").
$(STAMP): requirements/lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements/lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -c "import pipelines.cli, pipelines.graph" 
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/marsad run

# The fast tier, after every change (under 2 minutes, no service started): lint, format, types and
# every test that needs no broker, cluster, browser or corpus and is not a long run (tests/unit/,
# minus the few there that carry such a marker; tests/conftest.py marks the other folders).
FAST_TESTS := not kafka and not flink and not browser and not corpus and not slow

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q -m "$(FAST_TESTS)"

# Tests need the real Kafka broker and the Flink session cluster (both started and stopped around
# pytest; the Flink job server is built once with Maven into .cache/flink), the Prism runner and
# Debian's chromium for the report page's browser tests.
test: $(STAMP) prism chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	docker/kafka/with-broker.sh docker/flink/with-cluster.sh $(BIN)/pytest

# Prism, Beam's local streaming runner, built once from the Go module proxy (pipelines/runners/prism.py).
# Without Go the streaming tests skip (or fail under CI=true).
prism: $(STAMP)
	@if command -v go >/dev/null; then $(BIN)/python -c "from pipelines.runners.prism import ensure_prism; print(ensure_prism())"; \
	else echo "go not found: streaming tests will be skipped" >&2; fi

# The report page's browser tests drive Debian's Chromium with Playwright (no browser download).
# Without it they skip (or fail under CI=true). DejaVu is the Arabic font of the screenshots.
chromium:
	@if [ -x /usr/bin/chromium ] && fc-list :lang=ar 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core) >/dev/null; \
	else echo "chromium not installed (apt-get install chromium fonts-dejavu-core): browser tests will be skipped" >&2; fi

broker-start:
	docker/kafka/broker.sh start

broker-stop:
	docker/kafka/broker.sh stop

# A local Flink 1.19 session cluster (REST on localhost:8081) and the job server jar it runs with.
flink-start:
	docker/flink/job-server.sh build >/dev/null
	docker/flink/cluster.sh start

flink-stop:
	docker/flink/cluster.sh stop

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

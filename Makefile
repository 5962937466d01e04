# Every target works on a fresh machine: it makes .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8787
# Cases per API operation and database for `make fuzz` (`make test` runs 15).
FUZZ_EXAMPLES ?= 100

.PHONY: install run test fuzz lint format clean bench-engine bench-engine-versus bench-evaluate-request bench-http bench-listing outage-test bench-batch bench-audit bench-profile bench-mailflow bench-freshness load wrk

# The policy engine's hot modules, compiled with mypyc (the engine runs them only while
# they match the sources; see src/email_security/engine/_speedups.py).
ENGINE := src/email_security/engine
COMPILED_ENGINE := $(ENGINE)/_compiled/SOURCES

# The milter needs libmilter's headers to build (Debian: libmilter-dev); without them the
# rest installs and the milter's tests say why they were skipped.
LIBMILTER := $(wildcard /usr/include/libmilter/mfapi.h)
comma := ,
MILTER_EXTRA := $(if $(LIBMILTER),$(comma)milter)

install: $(STAMP) $(COMPILED_ENGINE)

$(STAMP): pyproject.toml $(LIBMILTER)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev$(MILTER_EXTRA)]'
	touch $(STAMP)

$(COMPILED_ENGINE): $(STAMP) tools/compile_engine.py $(ENGINE)/_speedups.py \
		$(ENGINE)/_names.py $(ENGINE)/_index.py $(ENGINE)/_compile.py $(ENGINE)/_evaluate.py
	$(BIN)/python tools/compile_engine.py

run: install
	mkdir -p var
	$(BIN)/email-security db upgrade
	$(BIN)/email-security tokens bootstrap
	$(BIN)/email-security serve --host $(HOST) --port $(PORT)

# Two workers: the suite is mostly waiting on databases and server processes.
PYTEST_WORKERS ?= 2

# The engine's own tests run once more in plain Python: the library works uncompiled too.
test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	EMAIL_SECURITY_PURE_PYTHON=1 $(BIN)/python -m pytest -q tests/engine

# schemathesis with every check (`st run --checks all`) against a live server, on SQLite and,
# with EMAIL_SECURITY_TEST_POSTGRES_URL set, PostgreSQL; `make test` holds a bounded run.
fuzz: install
	$(BIN)/python tools/fuzz.py --examples $(FUZZ_EXAMPLES) $(FUZZ_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Stops and starts the whole local PostgreSQL cluster under load: never beside other tests.
outage-test: install
	EMAIL_SECURITY_TEST_CLUSTER_RESTART=$${EMAIL_SECURITY_TEST_CLUSTER_RESTART:-15/main} \
	EMAIL_SECURITY_TEST_POSTGRES_URL=$${EMAIL_SECURITY_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -q -p no:cacheprovider -W always::UserWarning \
		tests/test_database_outage.py -k postgresql_restarts $(PYTEST_ARGS)

# Benchmarks: each prints a table; results and analysis live in bench/README.md.
bench-engine: install
	$(BIN)/python bench/engine.py

# The engine now against itself at an earlier commit, interleaved: REV=<commit>.
REV ?= 7b6f02b
bench-engine-versus: install
	$(BIN)/python bench/engine_versus.py $(REV)

# A warm evaluate request with the settings version pushed, and with it read per request.
bench-evaluate-request: install
	$(BIN)/python bench/evaluate_request.py

# HTTP overhead, list/search latency up to 1,000,000 entries, batch and bulk import; on
# SQLite and on the PostgreSQL server (EMAIL_SECURITY_TEST_POSTGRES_URL, else the local one).
bench-http: install wrk
	$(BIN)/python bench/http_overhead.py

bench-listing: install
	$(BIN)/python bench/listing.py

bench-batch: install
	$(BIN)/python bench/batch.py

bench-audit: install
	$(BIN)/python bench/audit_cost.py

bench-profile: install
	$(BIN)/python bench/profile_request.py

# Real mail through a private Postfix, as root, with postfix installed (see .ci/run).
bench-mailflow: install
	$(BIN)/python bench/mailflow.py $(BENCH_ARGS)

# Writes while evaluations stream: how long evaluations wait, and when a change applies.
bench-freshness: install
	$(BIN)/python bench/freshness.py $(BENCH_ARGS)

wrk:
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

load: install wrk
	$(BIN)/python bench/load.py --seconds $${LOAD_SECONDS:-60} --connections $${LOAD_CONNECTIONS:-200}
	$(BIN)/python bench/load.py --seconds $${LOAD_SECONDS:-60} --connections $${LOAD_CONNECTIONS:-200} \
		--postgres $${EMAIL_SECURITY_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(ENGINE)/_compiled

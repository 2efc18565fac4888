# The two commands: `make run` serves the site, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-dates lint format clean

# The venv gets uv from PyPI, and uv installs the project: the same packages as pip from the same
# pyproject.toml ranges, compiled to bytecode as pip does, in 15–18 s instead of 27–29 s on a new
# venv (`time make .venv/.installed-test`, twice each, back to back); CI makes a new one every run.
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv' first."; exit 1; }

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv>=0.9,<1'

$(RUN_STAMP): pyproject.toml | $(BIN)/uv
	$(UV) -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/uv
	$(UV) -e '.[test]'
	@touch $@ $(RUN_STAMP)

# The site is served by `registry serve` (Waitress: slow clients cost a socket, not a thread; one
# process, so request metrics are counted in one place). The worker (mail from the
# outbox, the daily jobs) runs beside it and stops with it (Ctrl-C stops both). Without MAIL_URL mail is written to instance/mail, readable at /admin/mail.
# Links in mails lead back to this server unless REGISTRY_SITE_URL says otherwise.
run: export REGISTRY_SITE_URL ?= http://127.0.0.1:$(PORT)
run: $(RUN_STAMP)
	$(BIN)/registry init-db
	$(BIN)/registry seed --demo
	@echo "中介服务超市: http://127.0.0.1:$(PORT)  (邮件与每日任务: registry worker, 见 /admin/mail)"
	@$(BIN)/registry worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/registry serve --port $(PORT)

# `make test` runs the suite three times (tests/conftest.py, in_run): on the standard day
# (2026-12-07) on both databases, but for the SQLite runs of the tests that follow the test clock;
# those run at the first moved day instead, the whole SQLite suite; then the tests marked `dates`
# at every later moved day. So every test runs on each database and under two days, the date logic
# under three, and a date bug shows up before the date comes (README, "Working-day calendar and
# the clock"). The browser tests and the tests that start server processes (marked `realclock`:
# they run on the machine's clock whatever the test clock says) run on the standard day only.
MOVED_DAYS = 2027-06-15 2031-02-10

# Python caches compiled modules unless PYTHONDONTWRITEBYTECODE is set, as it is on some CI
# machines (this one's among them). Without the cache every test process compiles the app again and
# pytest rewrites the asserts of every test module again: collecting the suite took 7.8 s a
# process against 4.3 s with the cache, in each of the six worker processes of `make test`.
test test-dates: export PYTHONDONTWRITEBYTECODE =

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	REGISTRY_TEST_RUN=standard $(BIN)/pytest -n auto --dist loadgroup
	$(MAKE) --no-print-directory test-dates

test-dates: $(TEST_STAMP)
	@run=moved; for day in $(MOVED_DAYS); do \
		if [ $$run = moved ]; then echo "== the clock at $$day: every test that follows the test clock (SQLite)"; \
		else echo "== the clock at $$day: the tests about dates (SQLite)"; fi; \
		REGISTRY_TEST_TODAY=$$day REGISTRY_TEST_RUN=$$run REGISTRY_TEST_DATABASE_URL= \
			$(BIN)/pytest -q -n auto --dist loadgroup || exit 1; \
		run=dates; \
	done

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

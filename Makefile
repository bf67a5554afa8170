# duebot: `make run` starts the bot, `make test` runs every check CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run migrate test lint typecheck imports pytest format clean test-py313 ci

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes (the stamp file records the last install).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/duebot run

migrate: $(VENV)/.installed
	$(BIN)/duebot migrate

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

# Tests run in parallel (pytest-xdist; each worker gets its own PostgreSQL database).
# pytest exits 5 when it collects nothing; that is not a failure of the code.
# Test files (each test's SQLite copy, the e2e bots' databases) go to /dev/shm where the
# machine has it: memory, so the bots' commits do not wait for the disk.
TEST_TMPDIR := $(if $(wildcard /dev/shm),/dev/shm,$(or $(TMPDIR),/tmp))

# Bytecode is written even where the shell says not to (PYTHONDONTWRITEBYTECODE): otherwise
# every worker compiles the project and rewrites every test module again (about 3.5 s
# each), and so does every `duebot` an end-to-end test starts (about 0.3 s each).
pytest: $(VENV)/.installed-dev
	env -u PYTHONDONTWRITEBYTECODE TMPDIR=$(TEST_TMPDIR) \
		$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal || [ $$? -eq 5 ]

# Twice as many test processes as cores: the e2e tests spend much of their time waiting
# for the bot processes they start (pytest alone: 296 s with 2 workers, 243 s with 4 on
# 2 cores). The static checks run beside the tests, each one's output kept together.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

test:
	$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck imports pytest

# The unit and handler tests again on Python 3.13, in a venv of its own (.venv313), with
# the same pinned dependencies. CI runs this after `make test`; a machine without that
# interpreter says so and skips it (exit 0).
PY313    ?= $(HOME)/.pyenv/versions/3.13.0/bin/python
VENV313  := .venv313

$(VENV313)/.installed-dev: pyproject.toml
	$(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install --quiet --upgrade pip
	$(VENV313)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

test-py313:
	@if [ ! -x "$(PY313)" ]; then \
		echo "Python 3.13 not found at $(PY313): skipping the 3.13 run (set PY313=...)"; \
	else \
		$(MAKE) --no-print-directory $(VENV313)/.installed-dev && \
		$(VENV313)/bin/python --version && \
		$(VENV313)/bin/pytest -n auto --dist worksteal -p no:cacheprovider tests/unit tests/handlers; \
	fi

# What .ci/run does: everything on the default Python, then unit + handlers on 3.13.
ci: test test-py313

# Speed and memory figures (issue #8): each script prints a table and one JSON line, a
# missed target is marked MISSED (the exit code is non-zero only on a crash). Needs the
# PostgreSQL at BENCH_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432); the
# generated books are kept in benchmarks/.data/ and in bench_* databases between runs.
.PHONY: bench
bench: $(VENV)/.installed-dev
	rm -f benchmarks/.data/results/*.json
	$(BIN)/python -m benchmarks.tick_cost
	$(BIN)/python -m benchmarks.dispatch
	$(BIN)/python -m benchmarks.backlog
	$(BIN)/python -m benchmarks.press_latency
	$(BIN)/python -m benchmarks.memory_startup
	$(BIN)/python -m benchmarks.baseline
	$(BIN)/python -m benchmarks.summary

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(VENV313) .mypy_cache .pytest_cache .ruff_cache .hypothesis

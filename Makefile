# Human entry points. `make run` serves everything locally; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)
DB_USER_SQL := CREATE USER IF NOT EXISTS 'ticketing'@'localhost' IDENTIFIED BY 'ticketing'; \
	CREATE USER IF NOT EXISTS 'ticketing'@'127.0.0.1' IDENTIFIED BY 'ticketing'; \
	GRANT ALL PRIVILEGES ON *.* TO 'ticketing'@'localhost'; \
	GRANT ALL PRIVILEGES ON *.* TO 'ticketing'@'127.0.0.1';

.PHONY: run test install db-user lint fmt unit integration e2e clean

run: install db-user  ## broker, migrations, demo event, API on 127.0.0.1:8000 and every worker
	$(UV) run ticketing dev

test: install db-user lint  ## every check and the whole test suite
	$(UV) run pytest

$(UV):
	$(PYTHON) -m pip install --user --quiet uv || $(PYTHON) -m pip install --quiet uv

install: $(UV)  ## the locked dependencies, nothing else
	$(UV) sync --locked --quiet

# The app connects as its own user over TCP, which works whether or not root may use
# a password-less TCP login (Debian's root is socket-only by default).
db-user:
	@if command -v mysql >/dev/null 2>&1; then \
		mysql -uroot -e "$(DB_USER_SQL)" 2>/dev/null || sudo -n mysql -uroot -e "$(DB_USER_SQL)" 2>/dev/null || \
		echo "note: could not create the 'ticketing' database user; set TICKETING_DATABASE_URL"; \
	else echo "note: no mysql client; set TICKETING_DATABASE_URL to a database the app may use"; fi

lint: install  ## ruff, formatting, mypy --strict, import layering
	$(UV) run ruff check src tests migrations
	$(UV) run ruff format --check src tests migrations
	$(UV) run mypy
	$(UV) run lint-imports

fmt: install
	$(UV) run ruff format src tests migrations
	$(UV) run ruff check --fix src tests migrations

unit: install
	$(UV) run pytest tests/unit

integration: install db-user
	$(UV) run pytest tests/integration

e2e: install db-user
	$(UV) run pytest tests/e2e

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache

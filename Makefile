# Human entry points. `make run` serves everything locally; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)
DB_USER_SQL := CREATE USER IF NOT EXISTS 'ticketing'@'localhost' IDENTIFIED BY 'ticketing'; \
	CREATE USER IF NOT EXISTS 'ticketing'@'127.0.0.1' IDENTIFIED BY 'ticketing'; \
	GRANT ALL PRIVILEGES ON *.* TO 'ticketing'@'localhost'; \
	GRANT ALL PRIVILEGES ON *.* TO 'ticketing'@'127.0.0.1';

.PHONY: run test install db-user lint fmt unit integration e2e fuzz faults fault-tools observe clean

run: install db-user  ## broker, migrations, demo event, API on 127.0.0.1:8000 and every worker
	$(UV) run ticketing dev

cluster: install db-user cluster-tools  ## Redis Cluster (3+3), 2 API replicas behind HAProxy on 127.0.0.1:8000, 2x every worker
	TICKETING_ENVIRONMENT=$${TICKETING_ENVIRONMENT:-development} \
	TICKETING_DATABASE_URL=$${TICKETING_DATABASE_URL:-mysql+asyncmy://ticketing:ticketing@127.0.0.1:3306/ticketing_cluster} \
	$(UV) run ticketing cluster

test: install db-user lint compose-tools cluster-tools browser-tools  ## every check and the whole test suite
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
	$(UV) run ruff check src tests migrations bench
	$(UV) run ruff format --check src tests migrations bench
	$(UV) run mypy
	$(UV) run lint-imports

fmt: install
	$(UV) run ruff format src tests migrations bench
	$(UV) run ruff check --fix src tests migrations bench

unit: install
	$(UV) run pytest tests/unit

integration: install db-user
	$(UV) run pytest tests/integration

e2e: install db-user
	$(UV) run pytest tests/e2e

fuzz: install db-user  ## schemathesis over every documented operation, 500 examples each (make test runs 15)
	TICKETING_FUZZ_EXAMPLES=$${TICKETING_FUZZ_EXAMPLES:-500} $(UV) run pytest tests/fuzz -p no:randomly -v

faults: install db-user fault-tools cluster-tools  ## the whole fault suite (~12 min): private MariaDB/Redis/broker per test, kills and pauses (and the cluster topology's kill and failover); prints a results table
	$(UV) run pytest tests/faults tests/cluster -m faults -p no:randomly -v

# libfaketime (Debian package faketime) runs a worker with a skewed wall clock in the clock-skew
# fault tests; a fresh machine lacks it. Installed only when the library is missing.
fault-tools:
	@ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
		echo "installing faketime (apt-get)"; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime; }; }
	@ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || { echo "could not install libfaketime: apt-get install faketime"; exit 1; }

# Debian's prometheus package also installs a service on :9090; stop it or pick another address.
OBSERVE_ADDR ?= 127.0.0.1:9090

observe:  ## Prometheus scraping `make run` (API and every worker) with the alert rules, data in a temp dir
	@if ! command -v prometheus >/dev/null 2>&1; then \
		echo "prometheus is not installed; on Debian or Ubuntu: sudo apt-get install prometheus"; exit 1; fi
	prometheus --config.file=deploy/prometheus/prometheus.yml --storage.tsdb.path=$$(mktemp -d) \
		--web.listen-address=$(OBSERVE_ADDR)

# `docker-compose config` checks docker-compose.yml in `make test` (no Docker engine needed).
compose-tools:
	@command -v docker-compose >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
		echo "installing docker-compose (apt-get)"; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose; }; }
	@command -v docker-compose >/dev/null 2>&1 || { echo "could not install docker-compose: apt-get install docker-compose"; exit 1; }

# HAProxy and Redis (redis-server, redis-cli) from Debian for `make cluster` and its tests.
cluster-tools:
	@command -v haproxy >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
		echo "installing haproxy and redis (apt-get)"; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy redis-server redis-tools >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy redis-server redis-tools; }; }
	@command -v haproxy >/dev/null 2>&1 || { echo "could not install haproxy: apt-get install haproxy"; exit 1; }

# Debian's Chromium for the browser tests: Playwright drives it (it never downloads a browser here),
# and a CJK font so the Korean pages (and their screenshots) show their letters.
browser-tools:
	@test -x /usr/bin/chromium && ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
		echo "installing chromium and fonts-noto-cjk (apt-get)"; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }; }
	@test -x /usr/bin/chromium || { echo "could not install chromium: apt-get install chromium"; exit 1; }

screenshots: install db-user browser-tools  ## renew docs/screenshots/ from the browser tests
	TICKETING_SCREENSHOTS=$(CURDIR)/docs/screenshots $(UV) run pytest tests/browser -p no:randomly

.PHONY: bench soak bench-tools browser-tools compose-tools cluster cluster-tools screenshots

bench: install db-user bench-tools  ## load tests on a fresh stack of its own (~5-8 min); BENCH_SCALE=0.1 for a smoke run
	$(UV) run python -m bench.run

soak: install db-user  ## a steady sale for 10 min: memory and table sizes sampled (SOAK_RATE, SOAK_DURATION_S)
	$(UV) run python -m bench.soak

# wrk comes from Debian (k6 comes with the locked dev dependencies); a fresh machine lacks it.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
		echo "installing wrk (apt-get)"; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }; }
	@command -v wrk >/dev/null 2>&1 || { echo "could not install wrk: apt-get install wrk"; exit 1; }

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache

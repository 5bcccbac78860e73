"""Background processes, all run by the one loop of ``loop.py``.

``WORKER_NAMES`` is the one registry of them: the CLI, ``ticketing dev``, ``ticketing
cluster``, the benchmark, the fault suite, docker-compose.yml and the Prometheus scrape
config all follow it (``tests/unit/test_worker_names.py`` fails when one drifts).
Importing it loads nothing else.
"""

WORKER_NAMES = (
    "queue-advancer",
    "hold-expirer",
    "outbox-relay",
    "confirm-consumer",
    "refunder",
    "reconciler",
    "retention",
)

# Where each worker serves /metrics on one host (``ticketing dev``, and what
# deploy/prometheus/prometheus.yml scrapes); copies on one host take ports of their own.
WORKER_METRICS_BASE_PORT = 9101
WORKER_METRICS_PORTS = {name: WORKER_METRICS_BASE_PORT + i for i, name in enumerate(WORKER_NAMES)}

"""Background processes; each exposes tick() (one unit of work) and run().

``WORKER_NAMES`` is the one list of them (the CLI, ``ticketing dev``, the benchmark and
the fault suite start these); importing it loads nothing else.
"""

WORKER_NAMES = ("queue-advancer", "hold-expirer", "outbox-relay", "confirm-consumer", "refunder", "reconciler")

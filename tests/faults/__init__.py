"""Fault suite: private MariaDB, Redis and broker per test, the real service as subprocesses, a sale, a fault."""

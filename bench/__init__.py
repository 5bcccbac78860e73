"""``make bench``: a fresh production-like stack of its own, the load scenarios, the invariant
checks and a report (``python -m bench.run``; see ``run.py``)."""

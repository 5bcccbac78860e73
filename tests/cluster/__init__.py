"""Proof of the scale-out design on the real topology of `make cluster` (devtools/cluster.py)."""

"""Use cases: async functions over the ports in ports.py."""

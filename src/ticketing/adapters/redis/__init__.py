"""Redis adapters: waiting room, seat locks, seat map; keys built in keys.py only."""

"""Ticketing: a high-concurrency ticket sale back end."""

"""SQL adapters (SQLAlchemy Core on asyncmy)."""

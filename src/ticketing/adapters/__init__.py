"""Adapters: the only code that talks to MariaDB/MySQL, Redis, Kafka or crypto."""

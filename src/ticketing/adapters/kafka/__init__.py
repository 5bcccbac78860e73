"""Kafka adapters (aiokafka): producer, consumer, message codec."""

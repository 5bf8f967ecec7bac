"""Messaging: the bus interface, Kafka and in-process buses, outbox relay and consumer runner."""

"""Functions and small classes that topologies apply: pure where possible, tested without Kafka."""

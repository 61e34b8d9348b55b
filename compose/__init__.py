"""Local infrastructure: a real Kafka broker (KRaft) and Redis without Docker, plus the compose file."""

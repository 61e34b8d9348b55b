"""Message types of every topic and their JSON Schemas."""

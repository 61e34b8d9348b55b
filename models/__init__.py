"""Things that learn or compute: embedder, vector index, ranker. No Kafka imports here."""

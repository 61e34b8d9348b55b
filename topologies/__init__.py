"""Quix Streams applications, one module per topology, plus the CLI that runs them."""

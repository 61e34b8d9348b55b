"""Unit tests of cartstream.schemas."""

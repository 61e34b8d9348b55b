"""Unit tests of cartstream.operators."""

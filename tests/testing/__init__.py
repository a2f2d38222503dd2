"""Tests of execproto.testing."""

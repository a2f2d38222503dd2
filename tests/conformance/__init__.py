"""Tests of execproto.conformance."""

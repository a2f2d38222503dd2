"""Tests of execproto.engines."""

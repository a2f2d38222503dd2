"""Tests of execproto.integrations."""

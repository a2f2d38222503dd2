"""Tests of execproto.cli."""

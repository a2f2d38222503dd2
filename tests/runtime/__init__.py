"""Tests of execproto.runtime."""

"""Shared fixtures for execproto's own tests."""

from __future__ import annotations

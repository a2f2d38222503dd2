"""The command line: ``execproto`` and ``python -m execproto``."""

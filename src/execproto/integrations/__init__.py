"""Integrations with other libraries: one module per extra, imported on use."""

"""Example tools, plans and third-party-style executors used by the README and `make demo`."""

"""The reference runtime: registry, executors, cache, plans, engine, monitoring."""

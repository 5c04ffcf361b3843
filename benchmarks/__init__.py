"""Speed and memory benchmarks of the engine, the notebooks and the widgets (not unit tests; see README.md)."""

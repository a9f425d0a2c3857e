"""The engine: cases, processes, clocks, probes and results. Knows nothing of RBMs."""

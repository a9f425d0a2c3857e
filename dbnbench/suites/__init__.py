"""The workloads and the suite files. `registry` maps names to specs and implementations."""

"""What runs: the workload contract, the registry that finds workloads, and the cases a suite
expands to (with their arms and layouts)."""

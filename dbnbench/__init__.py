"""dbnbench: RBM/DBN workloads measured across devices, precisions and frameworks."""

__version__ = "0.1.0"

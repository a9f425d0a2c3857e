"""Bernoulli-Bernoulli RBM trained with contrastive divergence (CD-k) or persistent CD."""

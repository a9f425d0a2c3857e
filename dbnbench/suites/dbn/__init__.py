"""Deep Belief Network pretraining: a stack of RBMs trained greedily, layer by layer."""

"""Fine-tuning a pretrained DBN as a feed-forward classifier with backprop (SGD + momentum)."""

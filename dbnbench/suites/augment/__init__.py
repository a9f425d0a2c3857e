"""Data augmentation: random affine, elastic distortion (Simard et al. 2003) and noise on images."""

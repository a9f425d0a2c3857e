"""Inference with the fine-tuned DBN: forward-pass throughput and latency."""

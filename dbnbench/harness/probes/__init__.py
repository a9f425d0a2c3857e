"""Probes: process memory, energy counters, and the machine fingerprint."""

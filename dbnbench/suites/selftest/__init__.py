"""A workload that checks the harness itself: it can behave, crash, hang, raise or exhaust memory."""

"""How a number is taken: the timing loop, the statistics over rounds, and the calibration of
the machine's roof."""

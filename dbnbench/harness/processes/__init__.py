"""The processes a case runs in: the pool that starts, times out and kills workers; the worker
that measures one case; the ranks of a group and their rendezvous."""

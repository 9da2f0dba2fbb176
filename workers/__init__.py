"""Background work: RQ jobs (thin: ids in, one service call), queues and the scheduler."""

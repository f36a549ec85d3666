"""SQS: what moto lacks for queues themselves (FIFO sequence numbers)."""

"""SNS: the deliveries moto lacks (Lambda's documented event, FIFO deduplication ids)."""

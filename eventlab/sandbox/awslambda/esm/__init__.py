"""Event source mappings: one poller per source (SQS, Kinesis)."""

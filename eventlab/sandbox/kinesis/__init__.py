"""Kinesis Data Streams: shard and stream throughput limits on the virtual clock."""

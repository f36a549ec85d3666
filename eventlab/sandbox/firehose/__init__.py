"""Firehose: buffering, compression, prefixes, Lambda processors, format conversion."""

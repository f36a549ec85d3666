"""MSK: clusters backed by an embedded Kafka-protocol broker."""

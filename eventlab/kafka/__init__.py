"""Kafka for the labs: an embedded Kafka-protocol broker, topic/group/lag tools, and a
windowed stream aggregation.

``KAFKA_BOOTSTRAP_SERVERS`` points everything here at an external cluster instead of the
embedded broker.
"""

from eventlab.kafka.broker import (
    BrokerError,
    BrokerNotInstalled,
    BrokerStartFailed,
    EmbeddedBroker,
    PortInUse,
)

__all__ = ["BrokerError", "BrokerNotInstalled", "BrokerStartFailed", "EmbeddedBroker", "PortInUse"]

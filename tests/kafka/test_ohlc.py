"""Trades -> per-symbol OHLC bars in 1-minute tumbling windows (bytewax over Kafka)."""

from __future__ import annotations

import json
from typing import Any

from eventlab.kafka import tools
from eventlab.kafka.ohlc import ohlc_bars, parse_trade

T0 = 1714564800  # 2024-05-01T12:00:00Z


def trade(symbol: str, price: float, seconds: float, size: int = 10) -> tuple[str, str]:
    return symbol, json.dumps({"symbol": symbol, "price": price, "size": size, "ts": T0 + seconds})


def test_bars_per_symbol_and_minute(bs: str, topic_name: Any) -> None:
    trades, bars = topic_name("trades"), topic_name("bars")
    tools.create_topic(bs, trades, 3)
    tools.create_topic(bs, bars, 3)
    tools.produce(bs, trades, [
        trade("AAPL", 10.0, 0), trade("AAPL", 12.5, 10), trade("MSFT", 400.0, 15),
        trade("AAPL", 9.5, 30), trade("AAPL", 11.0, 59.9, size=5),
        trade("AAPL", 20.0, 60), trade("MSFT", 401.0, 125),
        ("AAPL", "not a trade"),
    ])
    result = ohlc_bars(bs, trades, bars)
    assert (result.trades, result.bars, result.invalid, result.late) == (7, 4, 1, 0)
    out = {(r.key, json.loads(r.value)["window_start"]): json.loads(r.value)
           for r in tools.consume(bs, bars, "check", max_messages=4)}
    first = out[("AAPL", "2024-05-01T12:00:00+00:00")]
    assert first == {"symbol": "AAPL", "window_start": "2024-05-01T12:00:00+00:00",
                     "window_end": "2024-05-01T12:01:00+00:00", "open": 10.0, "high": 12.5,
                     "low": 9.5, "close": 11.0, "volume": 35.0, "trades": 4}
    assert out[("AAPL", "2024-05-01T12:01:00+00:00")]["open"] == 20.0
    assert out[("MSFT", "2024-05-01T12:00:00+00:00")]["close"] == 400.0
    assert out[("MSFT", "2024-05-01T12:02:00+00:00")]["trades"] == 1


def test_reads_from_the_log_start_when_earlier_records_were_deleted(bs: str, topic_name: Any) -> None:
    from confluent_kafka import TopicPartition

    trades, bars = topic_name("trades"), topic_name("bars")
    tools.create_topic(bs, trades, 1)
    tools.create_topic(bs, bars, 1)
    tools.produce(bs, trades, [trade("AAPL", 10.0 + i, i) for i in range(6)])
    for future in tools.admin(bs).delete_records([TopicPartition(trades, 0, 2)]).values():
        future.result(timeout=10)   # the log now starts at offset 2
    result = ohlc_bars(bs, trades, bars)
    assert (result.trades, result.bars) == (4, 1)
    bar = json.loads(tools.consume(bs, bars, "check", max_messages=1)[0].value)
    assert (bar["open"], bar["trades"]) == (12.0, 4)


def test_trade_parsing() -> None:
    parsed = parse_trade(b'{"symbol": "X", "price": "1.5", "ts": "2024-05-01T12:00:00Z"}')
    assert parsed is not None and parsed["size"] == 1.0 and parsed["at"].timestamp() == T0
    assert parse_trade(b'{"symbol": "X"}') is None

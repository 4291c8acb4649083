"""Kafka addresses and start positions, parsed before anything connects."""

import pytest

from transforms.io.kafka.address import KafkaAddress, KafkaAddressError, parse_start


def test_kafka_address():
    address = KafkaAddress.parse("kafka://127.0.0.1:19092/news")
    assert (address.bootstrap, address.name, address.topic_for("alerts")) == ("127.0.0.1:19092", "news", "news.alerts")
    assert KafkaAddress.parse("kafka://a:1,b:2/x").bootstrap == "a:1,b:2"
    for bad in ("kafka://host:1", "http://host:1/x", "kafka:///x", "kafka://h:1/a/b"):
        with pytest.raises(KafkaAddressError):
            KafkaAddress.parse(bad)


def test_start_positions():
    assert parse_start("earliest") == "earliest" and parse_start("latest") == "latest"
    assert parse_start("2018-02-01T00:00:00Z") == 1517443200000
    assert parse_start("2018-02-01T00:00:00") == 1517443200000  # naive means UTC
    with pytest.raises(ValueError, match="expected earliest, latest"):
        parse_start("yesterday")


def test_output_topics_are_one_per_kind():
    assert KafkaAddress("b:1", "out").output_topics() == ["out.articles", "out.alerts", "out.events", "out.deadletter"]

"""Lab 6 (MSK trading stream) beyond the shared tests of test_grading.py and
test_notebooks.py (which cover every lab): the architecture picture draws the cluster,
its topics and each group's backlog."""

from __future__ import annotations


# -- the architecture picture (autograder/diagram.py draws MSK for this lab) ---------------
def test_picture_shows_the_cluster_topics_and_group_backlog(sandbox) -> None:
    from autograder import diagram
    from eventlab.kafka import tools

    kafka = sandbox.client("kafka")
    arn = kafka.create_cluster_v2(ClusterName="trading", Serverless={
        "VpcConfigs": [{"SubnetIds": ["subnet-a", "subnet-b"]}]})["ClusterArn"]
    assert "trading (MSK Serverless, CREATING)" in diagram.picture(sandbox).mermaid()
    sandbox.clock.advance(minutes=2)
    bs = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerStringSaslIam"]
    tools.create_topic(bs, "trades", partitions=3)
    tools.produce(bs, "trades", [("AAPL", "1"), ("MSFT", "2"), ("GOOG", "3")])
    tools.consume(bs, "trades", "analytics", max_messages=1)
    text = diagram.picture(sandbox).text()
    assert "trading (MSK Serverless, ACTIVE) -> trades (3 partitions, 3 msgs)  (topic)" in text
    assert "-> analytics (group, 0 live)  (backlog 2)" in text

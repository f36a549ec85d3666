"""API Gateway -> SQS requests per second over the sandbox's HTTP server.

    python benchmarks/bench_apigateway.py [--requests 3000] [--threads 8] [--profile]

A Sandbox serves on a loopback port (as ``eventlab serve`` does); a second process sends
POST /orders through keep-alive connections from several threads; every request goes
through a mapping template into SQS.  Printed: requests/s over HTTP, the in-process
``invoke`` rate in the same run (the baseline: the data plane without HTTP), and their
ratio.  Target (issue 3): 1,000 requests/s on 2 cores.  ``--profile`` prints where the
server's time goes (cProfile of the in-process path).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time

CLIENT = textwrap.dedent("""
    import http.client, sys, threading, time
    host, port, path, total, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    counts, errors = [], []
    def worker(n):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for i in range(n):
            conn.request("POST", path, body=b'{"order": %d}' % i, headers={"Content-Type": "application/json"})
            response = conn.getresponse(); response.read()
            if response.status != 200:
                errors.append(response.status)
        counts.append(n)
    share = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=worker, args=(n,)) for n in share]
    start = time.perf_counter()
    for w in workers: w.start()
    for w in workers: w.join()
    print(time.perf_counter() - start, len(errors))
""")


def build(sb: object) -> tuple[str, str]:
    from eventlab.sandbox import Sandbox

    assert isinstance(sb, Sandbox)
    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    apigw = sb.client("apigateway")
    api_id = apigw.create_rest_api(name="shop")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    orders = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="orders")["id"]
    apigw.put_method(restApiId=api_id, resourceId=orders, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id, resourceId=orders, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{sb.region}:sqs:path/{sb.account_id}/orders",
        requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
        requestTemplates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"})
    apigw.put_method_response(restApiId=api_id, resourceId=orders, httpMethod="POST", statusCode="200")
    apigw.put_integration_response(restApiId=api_id, resourceId=orders, httpMethod="POST", statusCode="200",
                                   selectionPattern="")
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    return api_id, url


def queue_depth(sb: object, url: str) -> int:
    attributes = sb.client("sqs").get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from eventlab.sandbox import Sandbox

    with Sandbox(background=False) as sb:
        api_id, url = build(sb)
        service = sb.service("apigateway")
        for _ in range(50):  # warm up: imports, template compilation
            service.invoke(api_id, "prod", "POST", "/orders", body='{"warm": 1}')
        n = args.requests
        start = time.perf_counter()
        for i in range(n):
            service.invoke(api_id, "prod", "POST", "/orders", body=f'{{"order": {i}}}')
        in_process = n / (time.perf_counter() - start)

        host, port = sb.endpoint_url.split("//")[1].split(":")
        path = f"/restapis/{api_id}/prod/_user_request_/orders"
        before = queue_depth(sb, url)
        out = subprocess.run([sys.executable, "-c", CLIENT, host, port, path, str(n), str(args.threads)],
                             capture_output=True, text=True, check=True)
        elapsed, errors = out.stdout.split()
        over_http = n / float(elapsed)
        delivered = queue_depth(sb, url) - before
        assert int(errors) == 0 and delivered == n, (errors, delivered)

        print(f"API Gateway -> SQS over HTTP : {over_http:8.0f} requests/s "
              f"({n} requests, {args.threads} client threads in a second process)")
        print(f"API Gateway -> SQS in-process: {in_process:8.0f} requests/s (baseline, no HTTP)")
        print(f"ratio HTTP / in-process      : {over_http / in_process:8.2f}   target: 1,000 requests/s over HTTP")

        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(1000):
                service.invoke(api_id, "prod", "POST", "/orders", body=f'{{"order": {i}}}')
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()

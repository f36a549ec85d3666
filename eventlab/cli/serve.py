"""``eventlab serve``: the sandbox over HTTP for the AWS CLI and any SDK."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566,
                        help="port to listen on (default 4566; 0 picks a free port)")
    parser.add_argument("--region", default="us-east-1", help="the sandbox's region (default us-east-1)")
    parser.add_argument("--quota", action="append", default=[], metavar="NAME=VALUE",
                        help="change one of AWS's quotas, e.g. --quota kinesis.shard.write-records=10 "
                             "(repeat for more; GET /_eventlab/quotas lists them)")
    parser.add_argument("--policies", choices=("enforce", "strict", "off"), default=None,
                        help="how resource policies decide deliveries and cross-account calls: "
                             "enforce (default; a same-account delivery to a resource without any "
                             "policy still goes through), strict (as AWS: it is refused), off; "
                             "default: $EVENTLAB_POLICIES, else enforce")
    parser.add_argument("--iam", choices=("enforce", "off"), default=None,
                        help="whether the identity policies of roles (Lambda execution roles, state "
                             "machine roles, EventBridge target roles, assumed roles) decide the calls "
                             "made with them; default: $EVENTLAB_IAM, else off")


def run(args: argparse.Namespace) -> int:
    from eventlab.errors import PortInUse
    from eventlab.net import is_loopback
    from eventlab.sandbox import Sandbox

    if not is_loopback(args.host):
        print(f"warning: listening on {args.host} makes the sandbox reachable from other machines; "
              "it has no authentication.", file=sys.stderr)
    from eventlab.sandbox.core.capacity import QuotaError, Quotas

    try:
        quotas = Quotas.parse(args.quota)
    except QuotaError as exc:
        print(f"eventlab serve: {exc}", file=sys.stderr)
        return 2
    sandbox = Sandbox(region=args.region, quotas=quotas, policies=args.policies,
                      iam=args.iam).start()
    try:
        try:
            server = sandbox.serve(args.host, args.port)
        except PortInUse as exc:
            print(f"eventlab serve: {exc}", file=sys.stderr)
            return 2
        url = server.url
        print(f"eventlab sandbox listening on {url}", flush=True)
        print(f"  AWS CLI:  eventlab aws --endpoint {url} sqs list-queues\n"
              f"            (or aws --endpoint-url {url} ...; AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS)\n"
              f"  boto3:    boto3.client('sqs', endpoint_url='{url}')  (or export AWS_ENDPOINT_URL={url})\n"
              f"  clock:    curl -X POST {url}/_eventlab/clock/advance -d '{{\"hours\": 1}}'\n"
              "  accounts: a 12-digit access key id (AWS_ACCESS_KEY_ID=111111111111) acts in that account\n"
              "  Ctrl-C stops it (all state is in memory and goes with it).", flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        print("stopping the sandbox", file=sys.stderr)
        return 0
    finally:
        sandbox.stop()

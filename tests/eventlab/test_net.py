"""One loopback test, exact, shared by the sandbox's offline guard, the Lambda worker and
the grading fence: a name that merely starts like a loopback name is not one."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

from eventlab.guard import _is_loopback as fence_allows
from eventlab.net import is_loopback
from eventlab.sandbox import OfflineError

LOOPBACK = ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST",
            "ip6-localhost", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", b"127.0.0.1"]
HOSTILE = ["localhost.example.com", "127.example.com", "127.0.0.1.nip.io", "localhost.", "localhostx",
           "ip6-localhost.evil", "::1.example", "128.0.0.1", "10.0.0.1", "192.168.1.1", "0.0.0.0",
           "::", "::ffff:8.8.8.8", "127.1", "2130706433", "queue.amazonaws.com", "", None, 2130706433]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_addresses_and_names(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", HOSTILE)
def test_hostile_or_remote_names_are_not_loopback(host):
    assert not is_loopback(host)


def test_the_fence_uses_the_same_check_plus_the_empty_bind_address():
    assert fence_allows("") and fence_allows("127.0.0.1")
    assert not fence_allows("localhost.example.com") and not fence_allows("127.example.com")


@pytest.mark.parametrize("host", ["localhost.example.com", "127.example.com"])
def test_the_sandbox_refuses_an_endpoint_that_only_looks_local(sandbox, host):
    client = boto3.client("sqs", endpoint_url=f"http://{host}:4566")
    with pytest.raises(OfflineError, match="never talks to real AWS"):
        client.list_queues()


def test_the_lambda_worker_refuses_a_name_that_only_looks_local():
    """The worker's guard, in a child process: it refuses before any lookup or connection."""
    script = (
        "import json, socket, runpy\n"
        "import eventlab.sandbox.awslambda.worker as lambda_worker\n"
        "lambda_worker._install_offline_guard()\n"
        "out = {}\n"
        "for host in ('localhost.example.com', '127.example.com'):\n"
        "    try:\n"
        "        socket.socket().connect((host, 80))\n"
        "        out[host] = 'connected'\n"
        "    except ConnectionRefusedError as exc:\n"
        "        out[host] = 'refused' if 'sandbox is offline' in str(exc) else repr(exc)\n"
        "    except OSError as exc:\n"
        "        out[host] = 'lookup: ' + repr(exc)\n"
        "print(json.dumps(out))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"localhost.example.com": "refused", "127.example.com": "refused"}

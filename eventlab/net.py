"""The one test of "this address stays on this machine", shared by the sandbox's offline
guard, the Lambda worker's and the grading fence.

A host is loopback when it is an IP address in a loopback range (``127.0.0.0/8``, ``::1``,
an IPv4-mapped ``::ffff:127.x.y.z``), or exactly one of the names that resolve there on
every system (``localhost``, ``ip6-localhost``, ``ip6-loopback``).  Matching by prefix
would let ``localhost.example.com`` or ``127.example.com`` through, and those resolve
anywhere; no name is looked up (the lookup itself would leave the machine).

Standard library only: it is imported by every Lambda cold start.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# Variables that could send an AWS client elsewhere than the sandbox, or load real
# credentials: the sandbox (in-process) and ``eventlab aws`` drop them.
OFFLINE_DROPPED_PREFIXES = ("AWS_ENDPOINT_URL",)
OFFLINE_DROPPED = frozenset({
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY",
    "https_proxy", "http_proxy", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
})

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: object) -> bool:
    """True when a connection to ``host`` cannot leave this machine."""
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if not isinstance(host, str):
        return False
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def offline_variables(names: Iterable[str]) -> list[str]:
    """The variables among ``names`` that could take an AWS client off this machine."""
    return [k for k in names if k.startswith(OFFLINE_DROPPED_PREFIXES) or k in OFFLINE_DROPPED]

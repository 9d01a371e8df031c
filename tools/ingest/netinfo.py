"""This computer's LAN addresses: what a board puts in config.py as HOST.

Uses psutil (interfaces on Linux, macOS and Windows alike). IPv4 only: the boards' examples
connect over IPv4. Loopback and link-local (169.254/16) addresses are left out.
"""

from __future__ import annotations

import ipaddress
import socket

import psutil


def lan_addresses() -> list[str]:
    """Every non-loopback, non-link-local IPv4 address of this computer, sorted."""
    found = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family != socket.AF_INET:
                continue
            ip = ipaddress.ip_address(address.address)
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
                continue
            found.add(str(ip))
    return sorted(found, key=lambda text: ipaddress.ip_address(text))


def addresses_for_bind(host: str) -> list[str]:
    """The addresses a board can reach for a bind address: all LAN ones for a wildcard."""
    if host in ("0.0.0.0", "::", ""):
        return lan_addresses()
    return [host.strip("[]")]

"""IP networks from settings: parsing and membership, free of Django (settings import it)."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: list[str]) -> list[Network]:
    """CIDR networks (``10.0.0.0/8``) or single addresses; ``ValueError`` names a bad entry."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as error:
            raise ValueError(f"{value!r} is not an IP network ({error})") from None
    return networks


def address_in_networks(address: str | None, networks: list[Network]) -> bool:
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip.version == network.version and ip in network for network in networks)

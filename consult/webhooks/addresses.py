"""Which addresses a webhook may be sent to: http(s) only, and never to this machine or a
private network (a webhook is a request our server makes for whoever registered it: without
this check an organisation admin could make it call the database, the cloud's metadata service
or an intranet). Checked when the webhook is registered and again before each delivery (the
name may resolve elsewhere by then). ``WEBHOOKS_ALLOW_PRIVATE`` lifts the address check, for an
intranet install or a test."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask_babel import gettext as _


class AddressRefused(ValueError):
    """The URL may not be used; the message says why, for the person who typed it."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (a seam for tests)."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool = False, resolver=None) -> str:
    """``url`` as it will be used, or ``AddressRefused``."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefused(_("That is not a web address.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(_("Give an address starting with https:// (or http://)."))
    if parts.username or parts.password:
        raise AddressRefused(_("Leave the user name and password out of the address: each delivery is signed instead."))
    if allow_private:
        return url
    try:
        addresses = (resolver or resolve)(parts.hostname, port)
    except (OSError, UnicodeError):
        raise AddressRefused(_("%(host)s cannot be found.", host=parts.hostname)) from None
    if not addresses or not all(_public(a) for a in addresses):
        raise AddressRefused(
            _(
                "%(host)s is this server, a private network or a reserved address: deliveries go to public addresses only.",
                host=parts.hostname,
            )
        )
    return url

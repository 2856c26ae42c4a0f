"""A reverse proxy that signs users in (the organisation's SSO) and names them, and their
groups, in headers: trusted only from the proxy's own addresses, off unless configured.

>>> proxy = TrustedProxy("X-Remote-User", "X-Remote-Groups", ("10.0.0.0/30",))
>>> proxy.caller("10.0.0.2", Headers({"x-remote-user": "alice", "x-remote-groups": "a, b"}))
Caller(name='proxy:alice', groups=('a', 'b'), role=<Role.READER: 'reader'>)
"""

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers

from qa_service.core.config import Settings
from qa_service.core.keys import Caller, Role
from qa_service.core.schema import parse_groups

# Callers named by the proxy are told apart from key names, which cannot hold a colon.
PROXY_PREFIX = "proxy:"
_MAX_USER = 256


class ProxyIdentityError(Exception):
    """A request carries the proxy's identity headers but cannot be let in on them."""


class TrustedProxy:
    """Reads the caller from ``user_header`` (and their groups from ``groups_header``,
    comma-separated) on requests from ``addresses`` (addresses or networks). A request from
    anywhere else that carries either header is refused: a client must not name itself."""

    def __init__(
        self, user_header: str, groups_header: str | None, addresses: Sequence[str]
    ) -> None:
        self.user_header = user_header.lower()
        self.groups_header = groups_header.lower() if groups_header else None
        self.networks = tuple(ipaddress.ip_network(address, strict=False) for address in addresses)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TrustedProxy | None":
        if settings.proxy_user_header is None:
            return None
        return cls(
            settings.proxy_user_header, settings.proxy_groups_header, settings.trusted_proxies
        )

    def named_in(self, headers: Headers) -> bool:
        """Whether the request carries the proxy's identity headers (either of them)."""
        return self.user_header in headers or (
            self.groups_header is not None and self.groups_header in headers
        )

    def trusts(self, client_host: str | None) -> bool:
        try:
            address = ipaddress.ip_address((client_host or "").strip("[]"))
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def caller(self, client_host: str | None, headers: Headers) -> Caller:
        """The user the proxy names, a reader of their groups' documents;
        ``ProxyIdentityError`` if the request is not from the proxy or names nobody."""
        if not self.trusts(client_host):
            raise ProxyIdentityError(
                f"{self.user_header} is accepted only from the service's trusted proxy"
            )
        user = _text(headers.get(self.user_header, "")).strip()
        if not user or len(user) > _MAX_USER or not user.isprintable():
            raise ProxyIdentityError(f"the proxy's {self.user_header} names no valid user")
        groups_text = _text(headers.get(self.groups_header, "")) if self.groups_header else ""
        try:
            groups = parse_groups(groups_text)
        except ValueError:
            raise ProxyIdentityError(
                f"the proxy's {self.groups_header} holds a name that is not a group name "
                "(letters, digits, '_', '.', '-'; at most 64)"
            ) from None
        return Caller(f"{PROXY_PREFIX}{user}", groups, Role.READER)


def _text(value: str) -> str:
    # Header values arrive as Latin-1; a proxy sends a name in UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value

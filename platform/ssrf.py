"""Which callback URLs the platform may call: the SSRF guard.

No Django imports: the networks a deployment allows and the resolver are arguments, so every rule
can be tested as a pure function. The delivery code connects to an address returned by
:func:`check_url` (never to the name again), so a second DNS answer cannot switch the target.

Rules, in order:

- ``http`` or ``https`` only; no user info (``user:pass@``), no whitespace, control characters or
  backslashes; a port in 1..65535; a host.
- A host whose last label is numeric is an IPv4 address. Forms other than plain dotted decimal
  (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``) are read the way the C library reads
  them (what ``getaddrinfo`` and so ``connect`` would do) and refused: a non-global address with
  its name, a global one because the notation is ambiguous.
- ``localhost`` and ``*.localhost`` are refused without a lookup; so is a single-label name
  (resolved through the machine's search domains it would name an internal host).
- A name is resolved once; every address it resolves to must pass, not just the first.
- An address passes if it is global. IPv6 addresses that carry an IPv4 address (IPv4-mapped,
  IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address inside. The ranges below are refused
  with a reason naming them, and anything else that is not globally routable is refused too.
- ``allowed_networks`` (the deployment's ``CALLBACK_ALLOWED_NETWORKS``) lets listed networks
  through, for on-premises receivers, except the unspecified address, multicast, broadcast and the
  cloud metadata address, which nothing allows.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> addresses as strings, like the addresses getaddrinfo returns.
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048


class UnsafeURL(ValueError):
    """The URL must not be called. ``reason`` names the rule, for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ResolutionFailed(OSError):
    """The host name gave no address. It may be permanent (no such name) or not (DNS trouble)."""

    def __init__(self, reason: str, *, no_such_name: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.no_such_name = no_such_name


# Kinds that no deployment setting can allow.
NEVER_ALLOWED = frozenset({"unspecified", "multicast", "broadcast", "metadata"})

# (network, kind, description). The first match names the reason; order matters where ranges nest.
_RANGES: list[tuple[IPNetwork, str, str]] = [
    (ipaddress.ip_network(net), kind, text)
    for net, kind, text in [
        ("169.254.169.254/32", "metadata", "the cloud metadata address"),
        ("fd00:ec2::254/128", "metadata", "the cloud metadata address"),
        ("0.0.0.0/8", "unspecified", "in 0.0.0.0/8 ('this network'; 0.0.0.0 reaches this machine)"),
        ("10.0.0.0/8", "private", "a private address (10.0.0.0/8)"),
        ("100.64.0.0/10", "private", "a carrier-grade NAT address (100.64.0.0/10)"),
        ("127.0.0.0/8", "loopback", "a loopback address (127.0.0.0/8)"),
        ("169.254.0.0/16", "link-local", "a link-local address (169.254.0.0/16)"),
        ("172.16.0.0/12", "private", "a private address (172.16.0.0/12)"),
        ("192.0.0.0/24", "reserved", "an IETF protocol address (192.0.0.0/24)"),
        ("192.0.2.0/24", "reserved", "a documentation address (192.0.2.0/24)"),
        ("192.88.99.0/24", "reserved", "a 6to4 relay anycast address (192.88.99.0/24)"),
        ("192.168.0.0/16", "private", "a private address (192.168.0.0/16)"),
        ("198.18.0.0/15", "reserved", "a benchmarking address (198.18.0.0/15)"),
        ("198.51.100.0/24", "reserved", "a documentation address (198.51.100.0/24)"),
        ("203.0.113.0/24", "reserved", "a documentation address (203.0.113.0/24)"),
        ("224.0.0.0/4", "multicast", "a multicast address (224.0.0.0/4)"),
        ("255.255.255.255/32", "broadcast", "the broadcast address"),
        ("240.0.0.0/4", "reserved", "a reserved address (240.0.0.0/4)"),
        ("::/128", "unspecified", "the unspecified address (::)"),
        ("::1/128", "loopback", "a loopback address (::1)"),
        ("64:ff9b:1::/48", "private", "a local-use NAT64 address (64:ff9b:1::/48)"),
        ("100::/64", "reserved", "a discard-only address (100::/64)"),
        ("2001::/32", "reserved", "a Teredo address (2001::/32)"),
        ("2001:db8::/32", "reserved", "a documentation address (2001:db8::/32)"),
        ("2001::/23", "reserved", "an IETF protocol address (2001::/23)"),
        ("3fff::/20", "reserved", "a documentation address (3fff::/20)"),
        ("5f00::/16", "reserved", "a segment-routing address (5f00::/16)"),
        ("fc00::/7", "private", "a unique-local (private) address (fc00::/7)"),
        ("fe80::/10", "link-local", "a link-local address (fe80::/10)"),
        ("fec0::/10", "private", "a site-local address (fec0::/10)"),
        ("ff00::/8", "multicast", "a multicast address (ff00::/8)"),
    ]
]

_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    """``["127.0.0.0/8", "fd00::/8"]`` -> networks; ValueError names a bad entry."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network: {value!r} ({exc})") from None
    return networks


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries, and the name of the carrying form."""
    if ip in _MAPPED:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in _TRANSLATED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-translated"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour, "6to4"
    if ip in _COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def _classify(ip: IPAddress) -> tuple[str, str] | None:
    """(kind, description) of why ``ip`` is not a public address, or None if it is one."""
    for network, kind, text in _RANGES:
        if ip.version == network.version and ip in network:
            return kind, text
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "reserved", "not a globally routable address"
    return None


def address_refusal(ip: IPAddress, allowed_networks: Sequence[IPNetwork] = ()) -> str | None:
    """Why the platform must not connect to ``ip``, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return "an address with a zone index"
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if inner is not None:
        v4, form = inner
        if form == "IPv4-compatible":  # deprecated (RFC 4291); no legitimate receiver uses it
            return f"an IPv4-compatible IPv6 address (of {v4}), a deprecated form"
        found = _classify(v4)
        if found is None:
            return None
        kind, text = found
        article = "a" if form in ("6to4", "NAT64") else "an"
        text = f"{article} {form} IPv6 address of {v4}, {text}"
        candidates = [ip, v4]
    else:
        found = _classify(ip)
        if found is None:
            return None
        kind, text = found
        candidates = [ip]
    allowed = any(c.version == n.version and c in n for c in candidates for n in allowed_networks)
    if allowed and kind not in NEVER_ALLOWED:
        return None
    return text


@dataclass(frozen=True)
class ParsedURL:
    scheme: str
    host: str  # IDNA-encoded lower-case name without a trailing dot, or an IP address as text
    port: int
    target: str  # path and query: what goes on the request line
    literal: IPAddress | None  # the address, when the host is an IP literal
    written: str = ""  # the host as the URL wrote it, for messages

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.literal, ipaddress.IPv6Address) else self.host
        return host if self.port == {"http": 80, "https": 443}[self.scheme] else f"{host}:{self.port}"


_TARGET_SAFE = "/?&=%:@!$'()*+,;~-._"
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


def _numeric_host(host: str) -> IPAddress:
    """A host whose last label is a number is an IPv4 address (as in the WHATWG URL standard)."""
    try:
        return ipaddress.IPv4Address(host)  # plain dotted decimal
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)  # the C library's reading: what connect() would use
    except OSError:
        raise UnsafeURL(f"{host!r} is not a valid IPv4 address") from None
    ip = ipaddress.IPv4Address(packed)
    why = address_refusal(ip)
    if why:
        raise UnsafeURL(f"{host!r} is {ip} in another notation, {why}")
    raise UnsafeURL(f"{host!r} is an IPv4 address in a non-standard notation; write it as {ip}")


def parse_url(url: str) -> ParsedURL:
    """Check the URL's form (no network access); raise :class:`UnsafeURL` with the reason."""
    if not isinstance(url, str) or not url:
        raise UnsafeURL("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url) or "\\" in url:
        raise UnsafeURL("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed "[" or an invalid bracketed host
        raise UnsafeURL(f"the URL cannot be parsed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(f"the scheme must be http or https, not {scheme!r}" if scheme else "the URL has no scheme")
    netloc = parts.netloc
    if "@" in netloc:
        raise UnsafeURL("user info ('user:password@' before the host) is not allowed")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeURL("the port must be a number in 1..65535") from None
    if port is not None and not 1 <= port <= 65535:
        raise UnsafeURL("the port must be a number in 1..65535")
    host = parts.hostname or ""
    if not host:
        raise UnsafeURL("the URL has no host")
    port = port or {"http": 80, "https": 443}[scheme]
    # What goes on the request line must be ASCII: percent-encode the rest, keep existing escapes.
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_TARGET_SAFE)

    if netloc.startswith("["):
        if "%" in host:
            raise UnsafeURL("IPv6 zone identifiers are not allowed")
        try:
            literal = ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL(f"{host!r} is not a valid IPv6 address") from None
        return ParsedURL(scheme, literal.compressed, port, target, literal, host)

    name = host[:-1] if host.endswith(".") else host
    if not name or name.endswith("."):
        raise UnsafeURL("the host name is empty or has an empty label")
    labels = name.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        literal = _numeric_host(name)
        return ParsedURL(scheme, str(literal), port, target, literal, name)
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURL(f"{name!r} is not a valid host name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeURL(f"{name!r} is not a valid host name")
    if ascii_name == "localhost" or ascii_name.endswith(".localhost"):
        raise UnsafeURL(f"{name!r} is a loopback name (localhost)")
    if len(labels) == 1:
        raise UnsafeURL(f"{name!r} is not a fully qualified domain name")
    return ParsedURL(scheme, ascii_name, port, target, None, name)


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (one lookup)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        no_such_name = exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        raise ResolutionFailed(f"{host} does not resolve ({exc.strerror})", no_such_name=no_such_name) from None
    except UnicodeError:
        raise ResolutionFailed(f"{host} is not a valid host name", no_such_name=True) from None
    return [info[4][0] for info in infos]


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` (never to the name again); send ``url.host_header``."""

    url: ParsedURL
    addresses: tuple[IPAddress, ...]

    @property
    def address(self) -> IPAddress:
        return self.addresses[0]


def check_url(url: str, *, allowed_networks: Sequence[IPNetwork] = (), resolve: Resolver = system_resolve) -> Target:
    """Parse, resolve once, check every address. Raises :class:`UnsafeURL` (refused by a rule) or
    :class:`ResolutionFailed` (the name gave no address)."""
    parsed = parse_url(url)
    if parsed.literal is not None:
        why = address_refusal(parsed.literal, allowed_networks)
        if why:
            shown = parsed.written or str(parsed.literal)
            raise UnsafeURL(f"{shown} is {why}")
        return Target(parsed, (parsed.literal,))
    raw = list(resolve(parsed.host, parsed.port))
    if not raw:
        raise ResolutionFailed(f"{parsed.host} resolves to no address")
    addresses: list[IPAddress] = []
    for text in raw:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise UnsafeURL(f"{parsed.host} resolves to {text!r}, which is not an IP address") from None
        if ip not in addresses:
            addresses.append(ip)
    for ip in addresses:
        why = address_refusal(ip, allowed_networks)
        if why:
            raise UnsafeURL(f"{parsed.host} resolves to {ip}, {why}")
    return Target(parsed, tuple(addresses))

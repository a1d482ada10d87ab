"""The SSRF guard as pure functions: every URL in the table is refused with a reason naming the
rule, by the check made at submit and again by the one made right before connecting.

Names under ``.example.test`` are answered by a resolver passed in (the pure module takes it as
an argument), so "a name that resolves to 10.0.0.1" needs no DNS server and no /etc/hosts entry.
"""

import ipaddress

import pytest
from imgplatform.ssrf import ResolutionFailed, UnsafeURL, address_refusal, check_url, parse_networks, system_resolve

from callbacks import transport

FAKE_DNS = {
    "internal.example.test": ["10.0.0.1"],
    "rebind.example.test": ["93.184.216.34", "127.0.0.1"],  # one good address does not make it safe
    "v6private.example.test": ["fd12:3456::1"],
    "mapped.example.test": ["::ffff:10.0.0.1"],
    "metadata.example.test": ["169.254.169.254"],
    "public.example.test": ["93.184.216.34"],
    "public6.example.test": ["2606:4700:4700::1111"],
    "xn--bcher-kva.example.test": ["93.184.216.34"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    if host not in FAKE_DNS:
        raise ResolutionFailed(f"{host} does not resolve", no_such_name=True)
    return FAKE_DNS[host]


# (url, words the reason must contain)
REFUSED = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.0.0.1:8000/hooks", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://2130706433/", "127.0.0.1 in another notation, a loopback"),  # decimal
    ("http://0177.0.0.1/", "127.0.0.1 in another notation, a loopback"),  # octal
    ("http://017700000001/", "127.0.0.1 in another notation, a loopback"),  # octal, one number
    ("http://0x7f.1/", "127.0.0.1 in another notation, a loopback"),  # hex
    ("http://0x7f000001/", "127.0.0.1 in another notation, a loopback"),  # hex, one number
    ("http://127.1/", "127.0.0.1 in another notation, a loopback"),  # short form
    ("http://134744072/", "non-standard notation; write it as 8.8.8.8"),  # public, but ambiguous
    ("http://1.2.3.999/", "not a valid IPv4 address"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped IPv6 address of 127.0.0.1, a loopback"),
    ("http://[::ffff:7f00:1]:8080/", "IPv4-mapped IPv6 address of 127.0.0.1, a loopback"),
    ("http://[::127.0.0.1]/", "IPv4-compatible"),
    ("http://[64:ff9b::a00:1]/", "NAT64 IPv6 address of 10.0.0.1, a private"),
    ("http://[2002:7f00:1::]/", "6to4 IPv6 address of 127.0.0.1, a loopback"),
    ("http://0.0.0.0/", "0.0.0.0/8"),
    ("http://0/", "0.0.0.0/8"),
    ("http://[::]/", "unspecified"),
    ("http://localhost/", "loopback name"),
    ("http://localhost./", "loopback name"),
    ("http://LOCALHOST:8080/x", "loopback name"),
    ("http://api.localhost/", "loopback name"),
    ("http://internal.example.test/", "resolves to 10.0.0.1, a private address"),
    ("http://rebind.example.test/", "resolves to 127.0.0.1, a loopback"),
    ("http://v6private.example.test/", "unique-local"),
    ("http://mapped.example.test/", "IPv4-mapped IPv6 address of 10.0.0.1, a private"),
    ("http://metadata.example.test/latest/", "cloud metadata"),
    ("http://10.0.0.1/", "private address (10.0.0.0/8)"),
    ("http://172.16.5.4/", "private address (172.16.0.0/12)"),
    ("http://192.168.1.1/", "private address (192.168.0.0/16)"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://169.254.1.1/", "link-local"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://192.0.2.1/", "documentation"),
    ("http://224.0.0.1/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25eth0]/", "zone"),
    ("http://[fc00::1]/", "unique-local"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://example.com@127.0.0.1/", "user info"),  # userinfo trick: the host is 127.0.0.1
    ("http://127.0.0.1#@example.com/", "loopback"),  # the fragment trick: the host is 127.0.0.1
    ("http://user:pass@public.example.test/", "user info"),
    ("http://127.0.0.1\\@public.example.test/", "backslashes"),
    ("http://public.example.test\t/", "whitespace"),
    ("ftp://public.example.test/x", "http or https"),
    ("file:///etc/passwd", "http or https"),
    ("gopher://127.0.0.1:6379/_INFO", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("//public.example.test/x", "no scheme"),
    ("http:///path", "no host"),
    ("http://public.example.test:0/", "port"),
    ("http://public.example.test:65536/", "port"),
    ("http://public.example.test:abc/", "port"),
    ("http://[::1/", "cannot be parsed"),
    ("http://intranet/", "fully qualified"),
]

ACCEPTED = [
    ("https://public.example.test/hooks", "93.184.216.34"),
    ("http://public.example.test:8080/a?b=1#frag", "93.184.216.34"),
    ("http://93.184.216.34/x", "93.184.216.34"),
    ("https://[2606:4700:4700::1111]/x", "2606:4700:4700::1111"),
    ("https://public6.example.test/x", "2606:4700:4700::1111"),
    ("https://bücher.example.test/x", "93.184.216.34"),  # IDN, checked as xn--bcher-kva
    ("HTTPS://PUBLIC.EXAMPLE.TEST./x", "93.184.216.34"),
    ("http://[::ffff:93.184.216.34]/x", "::ffff:5db8:d822"),
    ("http://[64:ff9b::808:808]/x", "64:ff9b::808:808"),  # NAT64 of a public address
]


def test_the_table_is_big_enough():
    assert len(REFUSED) >= 30


@pytest.mark.parametrize("url,why", REFUSED, ids=[u for u, _ in REFUSED])
def test_refused_at_submit_with_a_reason(url, why):
    with pytest.raises(UnsafeURL) as refused:
        check_url(url, allowed_networks=[], resolve=fake_resolve)
    assert why in refused.value.reason


@pytest.mark.parametrize("url,why", REFUSED, ids=[u for u, _ in REFUSED])
def test_refused_at_delivery_before_any_connection(url, why):
    with pytest.raises(UnsafeURL) as refused:
        transport.post(url, b"{}", {}, allowed_networks=[], timeout=1, resolve=fake_resolve)
    assert why in refused.value.reason


@pytest.mark.parametrize("url,address", ACCEPTED, ids=[u for u, _ in ACCEPTED])
def test_public_urls_pass_and_name_the_address_to_connect_to(url, address):
    target = check_url(url, allowed_networks=[], resolve=fake_resolve)
    assert str(target.address) == address


def test_the_connection_target_keeps_the_name_for_host_and_tls():
    target = check_url("https://Public.Example.Test:8443/a/b?c=d#e", resolve=fake_resolve)
    assert target.url.host == "public.example.test"
    assert target.url.host_header == "public.example.test:8443"
    assert target.url.target == "/a/b?c=d"  # the fragment is never sent
    assert check_url("https://public.example.test/", resolve=fake_resolve).url.host_header == "public.example.test"
    unicode_path = check_url("https://public.example.test/h%20k/ü?q=é&r=1", resolve=fake_resolve)
    assert unicode_path.url.target == "/h%20k/%C3%BC?q=%C3%A9&r=1"  # ASCII on the request line


LOOPBACK = parse_networks(["127.0.0.0/8"])


def test_allowed_private_networks_let_only_those_through():
    """A deployment allowing 127.0.0.0/8 (as the test suite does for its receiver)."""
    assert str(check_url("http://127.0.0.1:9000/h", allowed_networks=LOOPBACK).address) == "127.0.0.1"
    for url, why in [
        ("http://10.0.0.1/", "private"),
        ("http://internal.example.test/", "10.0.0.1"),
        ("http://[::1]/", "loopback"),
        ("http://169.254.169.254/", "metadata"),
        ("http://localhost/", "loopback name"),
    ]:
        with pytest.raises(UnsafeURL) as refused:
            check_url(url, allowed_networks=LOOPBACK, resolve=fake_resolve)
        assert why in refused.value.reason, url


def test_no_setting_allows_unspecified_multicast_broadcast_or_metadata():
    everything = parse_networks(["0.0.0.0/0", "::/0"])
    assert address_refusal(ipaddress.ip_address("10.0.0.1"), everything) is None
    for address in ["0.0.0.0", "0.1.2.3", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "169.254.169.254"]:
        assert address_refusal(ipaddress.ip_address(address), everything), address


def test_numeric_tricks_are_caught_by_resolving_too():
    """getaddrinfo reads these notations as 127.0.0.1 as well; the resolved address is refused."""
    for host in ["2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7f000001"]:
        addresses = system_resolve(host, 80)
        assert addresses == ["127.0.0.1"], host
        assert "loopback" in address_refusal(ipaddress.ip_address(addresses[0]))


def test_a_name_that_does_not_resolve_is_a_resolution_failure_not_a_refusal():
    with pytest.raises(ResolutionFailed) as failed:
        check_url("https://no-such-host.invalid/x", resolve=system_resolve)
    assert failed.value.no_such_name


def test_bad_allowed_networks_are_named():
    with pytest.raises(ValueError, match="not-a-network"):
        parse_networks(["127.0.0.0/8", "not-a-network"])
    assert parse_networks([" 10.0.0.0/8 ", ""]) == [ipaddress.ip_network("10.0.0.0/8")]

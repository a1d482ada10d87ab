"""One POST to a real receiver on loopback: pinned to the checked address, no redirects, one
deadline, a bounded read, TLS checked against the name."""

import datetime
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from imgplatform.ssrf import UnsafeURL, parse_networks

from callbacks import transport
from tests.callbacks.conftest import Reply
from tests.conftest import free_port

LOOPBACK = parse_networks(["127.0.0.0/8"])


def post(url, **kwargs):
    kwargs.setdefault("allowed_networks", LOOPBACK)
    kwargs.setdefault("timeout", 5)
    return transport.post(url, b'{"a":1}', {"webhook-id": "msg_x"}, **kwargs)


def test_posts_the_body_and_headers(receiver):
    receiver.reply(Reply(204, body=b""))
    response = post(receiver.url + "?q=1")
    assert response.status == 204 and response.address == "127.0.0.1"
    (request,) = receiver.requests
    assert request.path == "/hooks/images?q=1" and request.body == b'{"a":1}'
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_x"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["user-agent"].startswith("imagegen-callbacks/")


def test_connects_to_the_checked_address_and_never_looks_up_again(receiver):
    """DNS rebinding: the first answer is checked and used; a second lookup would have said
    10.0.0.1. The receiver sees the name in Host."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    calls = []

    def rebinding_dns(host, port):
        calls.append(host)
        return next(answers)

    response = post(f"http://hooks.customer.test:{receiver.port}/cb", resolve=rebinding_dns)
    assert response.status == 200 and response.address == "127.0.0.1"
    assert calls == ["hooks.customer.test"]
    assert receiver.requests[0].headers["host"] == f"hooks.customer.test:{receiver.port}"
    with pytest.raises(UnsafeURL, match="10.0.0.1"):  # had it asked again, it would have refused
        post(f"http://hooks.customer.test:{receiver.port}/cb", resolve=rebinding_dns)
    assert len(receiver.requests) == 1


def test_redirects_are_answers_not_followed(receiver, other_receiver):
    receiver.reply(Reply(302, headers={"Location": other_receiver.url}))
    response = post(receiver.url)
    assert response.status == 302 and response.headers["location"] == other_receiver.url
    assert other_receiver.requests == []


def test_reads_at_most_max_bytes_of_a_large_body(receiver):
    receiver.reply(Reply(200, body=b"x" * 5_000_000))
    started = time.monotonic()
    response = post(receiver.url, max_bytes=1024)
    assert len(response.body) == 1024
    assert time.monotonic() - started < 2


def test_connection_refused(receiver):
    with pytest.raises(transport.TransportError, match="connection refused"):
        post(f"http://127.0.0.1:{free_port()}/x")


def test_a_silent_receiver_times_out_at_the_deadline(receiver):
    receiver.reply(Reply(200, delay=3))
    started = time.monotonic()
    with pytest.raises(transport.TransportError, match="timed out after 0.5 s"):
        post(receiver.url, timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_a_trickling_receiver_cannot_stretch_the_deadline(receiver):
    """Every byte arrives well within a per-read timeout; the whole answer does not."""
    receiver.reply(Reply(200, body=b"y" * 100, trickle=0.1))
    started = time.monotonic()
    with pytest.raises(transport.TransportError, match="timed out"):
        post(receiver.url, timeout=1.0, max_bytes=100)
    assert time.monotonic() - started < 2


# --- TLS: the connection goes to the pinned address, the certificate must match the name --------


def _cert(name: str, key, issuer_name, issuer_key, *, ca: bool = False):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_receiver(receiver, tmp_path):
    """The receiver behind TLS with a certificate for hooks.customer.test from a test CA."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = _cert("test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("hooks.customer.test", key, ca_name, ca_key)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "cert.pem").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem")
    sni = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    receiver.ca_file = str(tmp_path / "ca.pem")
    receiver.sni = sni
    return receiver


def test_https_goes_to_the_pinned_address_with_the_name_for_sni_and_the_certificate(tls_receiver):
    def dns(host, port):
        return ["127.0.0.1"]

    url = f"https://hooks.customer.test:{tls_receiver.port}/cb"
    response = post(url, resolve=dns, ca_certs=tls_receiver.ca_file)
    assert response.status == 200
    assert tls_receiver.sni == ["hooks.customer.test"]
    assert tls_receiver.requests[0].headers["host"] == f"hooks.customer.test:{tls_receiver.port}"


def test_https_refuses_a_certificate_for_another_name(tls_receiver):
    def dns(host, port):
        return ["127.0.0.1"]

    with pytest.raises(transport.TransportError, match="TLS certificate not valid"):
        post(f"https://other.customer.test:{tls_receiver.port}/cb", resolve=dns, ca_certs=tls_receiver.ca_file)
    with pytest.raises(transport.TransportError, match="TLS"):  # and one from an unknown CA
        post(f"https://hooks.customer.test:{tls_receiver.port}/cb", resolve=dns)
    assert tls_receiver.requests == []

"""Throw-away PKI for the registry harness: a CA, a TLS server certificate
and a token-signing certificate, all made fresh for every run.

Uses python3-cryptography (Debian package); run with /usr/bin/python3.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "libregistry test harness"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


class Pki:
    """Files written into `directory`:
    ca.pem, server.pem, server-key.pem, token-signing.pem, token-signing-key.pem.
    """

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        # Backdate a little: clocks in CI containers are not always in step.
        self._not_before = now - datetime.timedelta(hours=1)
        self._not_after = now + datetime.timedelta(days=2)

        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = self._issue(
            _name("libregistry harness CA"), self.ca_key.public_key(), ca=True)
        self.ca_path = os.path.join(directory, "ca.pem")
        _write(self.ca_path, _cert_pem(self.ca_cert))

        self.server_key = ec.generate_private_key(ec.SECP256R1())
        self.server_cert = self._issue(
            _name("127.0.0.1"), self.server_key.public_key(),
            san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                 x509.IPAddress(ipaddress.ip_address("::1")),
                 x509.DNSName("localhost")],
            eku=[ExtendedKeyUsageOID.SERVER_AUTH])
        self.server_cert_path = os.path.join(directory, "server.pem")
        self.server_key_path = os.path.join(directory, "server-key.pem")
        _write(self.server_cert_path, _cert_pem(self.server_cert))
        _write(self.server_key_path, _key_pem(self.server_key), 0o600)

        # The registry checks the JWT's x5c leaf against rootcertbundle (the CA).
        self.signing_key = ec.generate_private_key(ec.SECP256R1())
        self.signing_cert = self._issue(
            _name("libregistry harness token signer"),
            self.signing_key.public_key())
        self.signing_cert_path = os.path.join(directory, "token-signing.pem")
        self.signing_key_path = os.path.join(directory, "token-signing-key.pem")
        _write(self.signing_cert_path, _cert_pem(self.signing_cert))
        _write(self.signing_key_path, _key_pem(self.signing_key), 0o600)

        # skopeo/containers-image read every *.crt of a --cert-dir as a CA.
        self.cert_dir = os.path.join(directory, "skopeo-certs")
        os.makedirs(self.cert_dir, exist_ok=True)
        _write(os.path.join(self.cert_dir, "ca.crt"), _cert_pem(self.ca_cert))

    def issue_client(self, cert_path, key_path, common_name="libregistry harness client"):
        """A client certificate (for mutual TLS) signed by the CA, as PEM files."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._issue(_name(common_name), key.public_key(),
                           eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
        _write(cert_path, _cert_pem(cert))
        _write(key_path, _key_pem(key), 0o600)

    def signing_cert_der(self):
        return self.signing_cert.public_bytes(serialization.Encoding.DER)

    def signing_key_pem(self):
        return _key_pem(self.signing_key)

    def _issue(self, subject, public_key, ca=False, san=None, eku=None):
        builder = (x509.CertificateBuilder()
                   .subject_name(subject)
                   .issuer_name(subject if ca else self.ca_cert.subject)
                   .public_key(public_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(self._not_before)
                   .not_valid_after(self._not_after)
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                                  critical=False))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
        else:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.ca_key.public_key()), critical=False)
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False), critical=True)
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(san), critical=False)
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        return builder.sign(self.ca_key, hashes.SHA256())

"""The certificate authority behind the upstream test servers: a root and an
issuing CA on P-256 of their own, made at start. It issues the way the real
services do: the subject and the address from the order (never from the
CSR), the key from the CSR, the upstream's organisation added. For a fault,
a test makes it issue for another key, another address, or from a foreign
CA."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class TestCA:
    def __init__(self, name="Upstream Test"):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.issuing_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{name} Trust"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} Root"),
        ])
        issuing_name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{name} Trust"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} S/MIME CA"),
        ])
        now = _now()
        self.root = self._ca(root_name, root_name, self.root_key.public_key(), self.root_key, now, 3650, None)
        self.issuing = self._ca(issuing_name, root_name, self.issuing_key.public_key(), self.root_key, now, 1825, 0)

    @staticmethod
    def _ca(subject, issuer, public_key, signer, now, days, path_length):
        return (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(signer, hashes.SHA256())
        )

    def chain_pem(self):
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.issuing, self.root))

    def issue(self, csr, email, given=None, surname=None, common_name=None, pseudonym=None,
              other_key=False, other_email=None, foreign=None):
        """A certificate for `csr` (an x509.CertificateSigningRequest) and
        the order's names; returns (certificate, chain)."""
        if not csr.is_signature_valid:
            raise ValueError("the CSR's signature does not verify")
        key = ec.generate_private_key(ec.SECP256R1()).public_key() if other_key else csr.public_key()
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Upstream Sponsor Org")]
        if given:
            attributes.append(x509.NameAttribute(NameOID.GIVEN_NAME, given))
        if surname:
            attributes.append(x509.NameAttribute(NameOID.SURNAME, surname))
        if pseudonym:
            attributes.append(x509.NameAttribute(NameOID.PSEUDONYM, pseudonym))
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name or email))
        signer = foreign or self
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes)).issuer_name(signer.issuing.subject).public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(key), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(other_email or email)]), critical=False)
            .sign(signer.issuing_key, hashes.SHA256())
        )
        return certificate, [signer.issuing, signer.root]


def _usage(key):
    """Signing and encryption: keyEncipherment for RSA, keyAgreement for EC."""
    rsa = not isinstance(key, ec.EllipticCurvePublicKey)
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=rsa,
                         data_encipherment=False, key_agreement=not rsa, key_cert_sign=False,
                         crl_sign=False, encipher_only=False, decipher_only=False)


def pem(certificates):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def pkcs7_der(certificates):
    return pkcs7.serialize_certificates(certificates, serialization.Encoding.DER)


def pkcs7_pem(certificates):
    return pkcs7.serialize_certificates(certificates, serialization.Encoding.PEM)

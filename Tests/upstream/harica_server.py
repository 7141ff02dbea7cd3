"""A test server for HARICA CertManager's session API (GÉANT TCS), as the
GÉANT community's own tools call it (PyPI tcs-garr 0.28.2, hm-edu/harica):
the page's __RequestVerificationToken bound to its cookie; Login2FA with the
service account's password and TOTP code (Login without 2FA); the bare JWT
in Authorization; a fresh verification token after login; the organisation
(GetOrganizationsBulk, CheckMachingOrganization); issuance with
CreateBulkCertificatesSMIME (multipart groupId + CSV; a ZIP of DER PKCS#7
answers at once); the look-up (GetBulkCertificateEntries,
GetBulkCertificatesOfAnEntry); revocation (GetRevocationReasons,
GetEnterpriseCertificates, RevokeCertificate). It signs with its own CA and
takes names and addresses from the CSV, never from the CSR.

Checked against tcs-garr by test_harica_server.py before it judges
Mailseal. Run: python harica_server.py --chain-out FILE
"""

import base64
import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import struct
import time
import uuid
import zipfile
from email.parser import BytesParser
from email.policy import HTTP

from cryptography import x509

import upstream_ca
from upstream_server import Handler, serve

EMAIL = "svc-mailseal@example.edu"
PASSWORD = "harica-test-password"
# The service account's TOTP seed (base32, 160 bits).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ORGANIZATION = {"id": "6f1c2a9e-0d4b-4c1e-9a57-1b2c3d4e5f60", "organizationName": "Example University",
                "organizationUnitName": "", "state": "Beispielland", "locality": "Beispielstadt",
                "country": "DE", "dn": "O=Example University,L=Beispielstadt,C=DE"}
VALIDATED_DOMAINS = ("example.edu", "example.org")
REASONS = [
    {"name": "4.9.1.1.1.1", "isClient": True, "revocationMessage": "Unspecified"},
    {"name": "4.9.1.1.1.2", "isClient": True, "revocationMessage": "Key compromise"},
    {"name": "4.9.1.1.1.3", "isClient": True, "revocationMessage": "Affiliation changed"},
    {"name": "4.9.1.1.1.4", "isClient": True, "revocationMessage": "Superseded"},
    {"name": "4.9.1.1.1.5", "isClient": True, "revocationMessage": "Cessation of operation"},
]
CSV_HEADER = ["FriendlyName", "Email", "Email2", "Email3", "GivenName", "Surname", "PickupPassword",
              "CertType", "CSR"]


def totp(secret, at):
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class HaricaHandler(Handler):
    # The session: antiforgery tokens bound to their cookie; JWTs.
    def cookie(self, name):
        for part in (self.headers.get("Cookie") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None

    def session(self):
        """The JWT's session, or None."""
        token = (self.headers.get("Authorization") or "").strip()
        return self.server.jwts.get(token)

    def token_valid(self):
        token = self.headers.get("RequestVerificationToken")
        cookie = self.cookie(".AspNetCore.Antiforgery.mailsealtest")
        bound = self.server.antiforgery.get(token)
        return bound is not None and bound[0] == cookie and bound[1] == (self.headers.get("Authorization") or "").strip()

    def to_error_page(self):
        self.send_response(302)
        self.send_header("Location", "/Error")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        if self.control():
            return
        if self.route == "/":
            return self.home()
        if self.route in ("/Error", "/login"):
            return self.answer(200, "<html><body>Error</body></html>", "text/html")
        self.answer(404, {"message": "not found"})

    def do_POST(self):
        if self.control():
            return
        route = self.route
        if not self.token_valid():
            self.body()
            return self.to_error_page()
        if route == "/api/User/Login2FA":
            return self.login(two_factor=True)
        if route == "/api/User/Login":
            return self.login(two_factor=False)
        session = self.session()
        if session is None:
            self.body()
            # An API call without a valid session goes to the login page.
            self.send_response(308)
            self.send_header("Location", "/login")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        handlers = {
            "/api/User/GetCurrentUser": self.current_user,
            "/api/ServerCertificate/CheckMachingOrganization": self.matching_organization,
            "/api/OrganizationAdmin/GetOrganizationsBulk": self.organizations,
            "/api/OrganizationAdmin/CreateBulkCertificatesSMIME": self.create_bulk,
            "/api/OrganizationAdmin/GetBulkCertificateEntries": self.entries,
            "/api/OrganizationAdmin/GetBulkCertificatesOfAnEntry": self.certificates_of_entry,
            "/api/OrganizationValidatorSmime/GetRevocationReasons": self.reasons,
            "/api/OrganizationValidatorSmime/GetEnterpriseCertificates": self.enterprise_certificates,
            "/api/OrganizationValidatorSmime/RevokeCertificate": self.revoke,
        }
        handler = handlers.get(route)
        if handler is None:
            self.body()
            return self.answer(404, {"message": "not found"})
        try:
            handler()
        except (ValueError, KeyError, TypeError) as problem:
            self.answer(400, "Bad request: %s" % problem, "text/plain")

    def home(self):
        token = secrets.token_urlsafe(24)
        cookie = self.cookie(".AspNetCore.Antiforgery.mailsealtest") or secrets.token_urlsafe(16)
        self.server.antiforgery[token] = (cookie, (self.headers.get("Authorization") or "").strip())
        page = ('<!DOCTYPE html><html><head><title>HARICA CertManager (test)</title></head><body>'
                '<form><input name="__RequestVerificationToken" type="hidden" value="%s" /></form>'
                '</body></html>' % token)
        self.answer(200, page, "text/html; charset=utf-8",
                    headers=[("Set-Cookie", ".AspNetCore.Antiforgery.mailsealtest=%s; path=/; httponly" % cookie)])

    def login(self, two_factor):
        fault = self.server.faults.take("login")
        if self.apply_transport_fault(fault):
            return
        body = self.json_body()
        if body.get("email") != EMAIL or body.get("password") != PASSWORD:
            return self.answer(401, "Wrong email or password", "text/plain")
        if two_factor:
            now = time.time()
            if body.get("token") not in {totp(TOTP_SECRET, now + skew) for skew in (-30, 0, 30)}:
                return self.answer(401, "Wrong 2FA code", "text/plain")
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = b64url(json.dumps({"sub": EMAIL, "exp": int(time.time()) + 3600}).encode())
        jwt = "%s.%s.%s" % (header, claims, b64url(secrets.token_bytes(32)))
        self.server.jwts[jwt] = {"email": EMAIL}
        with self.server.lock:
            self.server.logins += 1
        self.answer(200, jwt, "text/plain")

    def current_user(self):
        self.body()
        self.answer(200, {"email": EMAIL, "fullName": "Mailseal Service", "organization": ORGANIZATION["organizationName"],
                          "role": "Enterprise Admin, SMIME Enterprise Approver, User"})

    def matching_organization(self):
        domains = [d.get("domain", "").lower() for d in self.json_body()]
        if domains and all(d in VALIDATED_DOMAINS for d in domains):
            return self.answer(200, [ORGANIZATION])
        self.answer(200, [])

    def organizations(self):
        self.body()
        self.answer(200, [{"organizationId": ORGANIZATION["id"], "organization": ORGANIZATION["organizationName"],
                           "domain": domain, "groupId": ORGANIZATION["id"]} for domain in VALIDATED_DOMAINS])

    def create_bulk(self):
        fault = self.server.faults.take("create")
        if self.apply_transport_fault(fault):
            return
        if fault == "logout":
            # HARICA ended every session: the call goes to the login page.
            self.server.jwts.clear()
            self.send_response(308)
            self.send_header("Location", "/login")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        content_type = self.headers.get("Content-Type") or ""
        if not content_type.startswith("multipart/form-data"):
            return self.answer(400, "multipart/form-data expected", "text/plain")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + self.body())
        fields = {}
        for part in message.iter_parts():
            fields[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True)
        if fields.get("groupId", b"").decode() != ORGANIZATION["id"]:
            return self.answer(400, "Unknown organization (groupId)", "text/plain")
        rows = list(csv.reader(io.StringIO(fields.get("csv", b"").decode())))
        if not rows or rows[0] != CSV_HEADER:
            return self.answer(400, "The CSV header must be " + ",".join(CSV_HEADER), "text/plain")
        orders = []
        for row in rows[1:]:
            if not row:
                continue
            if len(row) == 10 and row[9] == "":
                row = row[:9]  # HARICA's own example has a trailing comma
            if len(row) != 9:
                return self.answer(400, "A CSV row must have 9 fields", "text/plain")
            friendly, email, email2, email3, given, surname, pickup, kind, csr_pem = row
            if kind not in ("email_only", "natural_legal_lcp"):
                return self.answer(400, "CertType must be email_only or natural_legal_lcp", "text/plain")
            if kind == "email_only" and (given or surname):
                return self.answer(400, "email_only takes no GivenName or Surname", "text/plain")
            if kind == "natural_legal_lcp" and not (given and surname):
                return self.answer(400, "natural_legal_lcp needs GivenName and Surname", "text/plain")
            if pickup:
                return self.answer(400, "No PickupPassword with a CSR", "text/plain")
            for address in (email, email2, email3):
                if address and address.rsplit("@", 1)[-1].lower() not in VALIDATED_DOMAINS:
                    return self.answer(400, "The domain of %s is not validated" % address, "text/plain")
            try:
                csr = x509.load_pem_x509_csr(csr_pem.encode())
            except ValueError:
                return self.answer(400, "Invalid CSR", "text/plain")
            if not csr.is_signature_valid:
                return self.answer(400, "The CSR's signature is invalid", "text/plain")
            orders.append((friendly, email, given, surname, csr))
        if not orders:
            return self.answer(400, "No rows", "text/plain")
        if self.server.delay:
            time.sleep(self.server.delay)
        entry = {"id": str(uuid.uuid4()), "entityId": ORGANIZATION["id"], "createdAt": time.strftime(
            "%Y-%m-%dT%H:%M:%S"), "customTags": None, "userEmail": EMAIL, "certificates": []}
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as answer:
            for number, (friendly, email, given, surname, csr) in enumerate(orders, 1):
                certificate, chain = self.server.ca.issue(
                    csr, email, given=given or None, surname=surname or None,
                    common_name=("%s %s" % (given, surname)) if given else email,
                    other_key=fault == "wrong-key",
                    other_email="someone.else@example.edu" if fault == "wrong-email" else None,
                    foreign=self.server.foreign if fault == "foreign-chain" else None)
                item = {"id": str(uuid.uuid4()), "bulkCertificatesEntryId": entry["id"], "friendlyName": friendly,
                        "statusName": "Valid", "isRevoked": False, "userEmail": email,
                        "serial": "%X" % certificate.serial_number,
                        "certificate": upstream_ca.pem([certificate]).decode(),
                        "validTo": certificate.not_valid_after_utc.isoformat(),
                        "dN": certificate.subject.rfc4514_string(), "revocationCode": None}
                entry["certificates"].append(item)
                answer.writestr("%d.%s.p7b" % (number, friendly), upstream_ca.pkcs7_der([certificate] + chain))
        with self.server.lock:
            self.server.entries.append(entry)
        if fault == "close-after-create":
            return self.drop()
        if fault == "empty-after-create":
            return self.answer(200, b"", "application/zip")
        self.answer(200, archive.getvalue(), "application/zip")

    def entries(self):
        self.body()
        with self.server.lock:
            self.answer(200, [{k: v for k, v in e.items() if k != "certificates"} for e in self.server.entries])

    def certificates_of_entry(self):
        wanted = self.json_body().get("id")
        with self.server.lock:
            entry = next((e for e in self.server.entries if e["id"] == wanted), None)
            self.answer(200, entry["certificates"] if entry else [])

    def reasons(self):
        self.body()
        self.answer(200, REASONS)

    def all_certificates(self):
        return [c for e in self.server.entries for c in e["certificates"]]

    def enterprise_certificates(self):
        body = self.json_body()
        status = body.get("status", "Valid")
        start = int(body.get("startIndex", 0))
        with self.server.lock:
            found = [c for c in self.all_certificates() if (c["statusName"] == status)]
            page = [{"transactionId": c["id"], "transactionTypeName": "Email", "userEmail": c["userEmail"],
                     "dN": c["dN"], "certificateValidTo": c["validTo"]} for c in found[start:start + 100]]
        self.answer(200, page)

    def revoke(self):
        body = self.json_body()
        if body.get("name") not in [r["name"] for r in REASONS]:
            return self.answer(400, "Unknown revocation reason", "text/plain")
        with self.server.lock:
            item = next((c for c in self.all_certificates() if c["id"] == body.get("transactionId")), None)
            if item is None:
                return self.answer(400, "Unknown transaction", "text/plain")
            item.update(statusName="Revoked", isRevoked=True, revocationCode=body["name"])
            self.server.revoked.append({"id": item["id"], "reason": body["name"], "notes": body.get("notes", "")})
        self.answer(200, b"", "text/plain")


def make_state(server):
    server.antiforgery = {}
    server.jwts = {}
    server.entries = []
    server.revoked = []
    server.logins = 0

    def state():
        with server.lock:
            certificates = [c for e in server.entries for c in e["certificates"]]
            return {"orders": len(certificates), "entries": len(server.entries), "logins": server.logins,
                    "revoked": list(server.revoked), "friendlyNames": [c["friendlyName"] for c in certificates]}
    server.state = state


if __name__ == "__main__":
    serve(HaricaHandler, make_state, __doc__)

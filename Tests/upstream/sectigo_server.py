"""A test server for Sectigo Certificate Manager's S/MIME REST API (v1), as
its public documentation and the public clients (PyPI cert-manager 4.0.0,
hm-edu/sectigo-client) call it: the login/password/customerUri headers;
organisations, types and custom fields; enroll → backendCertId; collect
(400 with code -183 while pending); the search by address; revocation by
order or serial. It signs with its own CA and takes the names and the
address from the order, never from the CSR.

Checked against cert-manager 4.0.0 by test_sectigo_server.py before it
judges Mailseal. Run: python sectigo_server.py --chain-out FILE [--delay S]
"""

import re
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization

import upstream_ca
from upstream_server import Handler, serve

CUSTOMER_URI = "example-university"
LOGIN = "mailseal-api"
PASSWORD = "sectigo-test-password"
ORGANIZATIONS = [{"id": 4242, "name": "Example University", "departments": []}]
TYPES = [
    {"id": 1938, "name": "GEANT Personal email signing and encryption", "description": "",
     "terms": [365, 730], "keyTypes": {"EC": ["P-256", "P-384"], "RSA": ["2048", "3072", "4096"]},
     "useSecondaryOrgName": False},
    {"id": 1939, "name": "GEANT Role email signing and encryption", "description": "",
     "terms": [365, 730], "keyTypes": {"EC": ["P-256", "P-384"], "RSA": ["2048", "3072", "4096"]},
     "useSecondaryOrgName": False},
]
VALIDATED_DOMAINS = ("example.edu", "example.org")


def error(code, description):
    return {"code": code, "description": description}


class SectigoHandler(Handler):
    def authorised(self):
        if (self.headers.get("login"), self.headers.get("password"), self.headers.get("customerUri")) != (
                LOGIN, PASSWORD, CUSTOMER_URI):
            self.answer(401, error(-16, "Unknown user or wrong password"))
            return False
        return True

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        if self.control():
            return
        if not self.authorised():
            return
        route = self.route
        try:
            if self.command == "GET" and route == "/api/organization/v1":
                return self.answer(200, ORGANIZATIONS)
            if self.command == "GET" and route == "/api/smime/v1/types":
                return self.answer(200, TYPES)
            if self.command == "GET" and route == "/api/smime/v1/customFields":
                return self.answer(200, [])
            if self.command == "POST" and route == "/api/smime/v1/enroll":
                return self.enroll()
            match = re.fullmatch(r"/api/smime/v1/collect/(\d+)", route)
            if self.command == "GET" and match:
                return self.collect(int(match.group(1)))
            if self.command == "GET" and route == "/api/smime/v1":
                return self.search()
            match = re.fullmatch(r"/api/smime/v1/revoke/order/(\d+)", route)
            if self.command == "POST" and match:
                return self.revoke(lambda order: order["id"] == int(match.group(1)))
            match = re.fullmatch(r"/api/smime/v1/revoke/serial/([0-9A-Fa-f:]+)", route)
            if self.command == "POST" and match:
                serial = int(match.group(1).replace(":", ""), 16)
                return self.revoke(lambda order: order.get("serial") == serial)
            self.answer(404, error(-404, "Not found"))
        except (ValueError, KeyError, TypeError) as problem:
            self.answer(400, error(-100, "Bad request: %s" % problem))

    def enroll(self):
        fault = self.server.faults.take("enroll")
        if self.apply_transport_fault(fault):
            return
        body = self.json_body()
        if not isinstance(body, dict):
            return self.answer(400, error(-100, "The body must be a JSON object"))
        if body.get("orgId") not in [o["id"] for o in ORGANIZATIONS]:
            return self.answer(400, error(-120, "Invalid organization"))
        kind = next((t for t in TYPES if t["id"] == body.get("certType")), None)
        if kind is None:
            return self.answer(400, error(-103, "Invalid certificate type"))
        if body.get("term") not in kind["terms"]:
            return self.answer(400, error(-104, "Invalid term"))
        email = body.get("email") or ""
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            return self.answer(400, error(-105, "Invalid email"))
        if email.rsplit("@", 1)[1].lower() not in VALIDATED_DOMAINS:
            return self.answer(400, error(-106, "The domain of the email is not validated"))
        try:
            csr = x509.load_pem_x509_csr(str(body.get("csr") or "").encode())
        except ValueError:
            return self.answer(400, error(-107, "Invalid CSR"))
        if not csr.is_signature_valid:
            return self.answer(400, error(-107, "The CSR's signature is invalid"))
        with self.server.lock:
            self.server.next_id += 1
            order = {
                "id": self.server.next_id, "email": email, "firstName": body.get("firstName"),
                "lastName": body.get("lastName"), "commonName": body.get("commonName"),
                "certType": kind["id"], "csr": csr, "created": time.time(), "state": "requested",
                "fault": fault if fault in ("wrong-key", "wrong-email", "foreign-chain") else None,
            }
            self.server.orders.append(order)
        if fault == "close-after-create":
            return self.drop()
        if fault == "empty-after-create":
            return self.answer(200, b"")
        self.answer(200, {"orderNumber": order["id"], "backendCertId": str(order["id"])})

    def issue(self, order):
        """Issues an order once it is collectable (the delay)."""
        if "certificate" in order:
            return True
        if time.time() - order["created"] < self.server.delay:
            return False
        fault = order["fault"]
        certificate, chain = self.server.ca.issue(
            order["csr"], order["email"], given=order["firstName"], surname=order["lastName"],
            common_name=order["commonName"], other_key=fault == "wrong-key",
            other_email="someone.else@example.edu" if fault == "wrong-email" else None,
            foreign=self.server.foreign if fault == "foreign-chain" else None)
        order.update(certificate=certificate, chain=chain, serial=certificate.serial_number, state="issued")
        return True

    def collect(self, number):
        fault = self.server.faults.take("collect")
        if self.apply_transport_fault(fault):
            return
        with self.server.lock:
            order = next((o for o in self.server.orders if o["id"] == number), None)
            if order is None:
                return self.answer(404, error(-183, "Certificate not found"))
            if order["state"] == "revoked":
                return self.answer(400, error(-192, "The Certificate has been revoked!"))
            if not self.issue(order):
                return self.answer(400, error(-183, "Certificate is not collectable."))
            certificates = [order["certificate"]] + order["chain"]
        form = self.query.get("format", "base64")
        if form == "x509":
            return self.answer(200, upstream_ca.pem(certificates), "application/x-x509-ca-cert")
        if form == "x509CO":
            return self.answer(200, upstream_ca.pem(certificates[:1]), "application/x-x509-ca-cert")
        if form == "bin":
            return self.answer(200, upstream_ca.pkcs7_der(certificates), "application/pkcs7-mime")
        if form == "base64":
            return self.answer(200, upstream_ca.pkcs7_pem(certificates), "application/pkcs7-mime")
        self.answer(400, error(-100, "Unknown format"))

    def search(self):
        query = self.query
        size, position = int(query.get("size", 200)), int(query.get("position", 0))
        email = query.get("email")
        with self.server.lock:
            found = [o for o in self.server.orders if email is None or o["email"].lower() == email.lower()]
            items = []
            for order in found[position:position + size]:
                self.issue(order)
                item = {"id": order["id"], "state": order["state"], "orderNumber": order["id"],
                        "backendCertId": str(order["id"]), "certTypeId": order["certType"]}
                if "certificate" in order:
                    certificate = order["certificate"]
                    item["serialNumber"] = ":".join(re.findall("..", "%040X" % certificate.serial_number))
                    item["expires"] = certificate.not_valid_after_utc.date().isoformat()
                    item["certificateDetails"] = {"subject": certificate.subject.rfc4514_string(),
                                                  "issuer": certificate.issuer.rfc4514_string()}
                items.append(item)
        self.answer(200, items)

    def revoke(self, matches):
        body = self.json_body()
        reason = body.get("reason") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not 1 <= len(reason) <= 512:
            return self.answer(400, error(-100, "A reason of 1 to 512 characters is required"))
        with self.server.lock:
            order = next((o for o in self.server.orders if matches(o)), None)
            if order is None:
                return self.answer(404, error(-183, "Certificate not found"))
            order["state"] = "revoked"
            order["revocationReason"] = reason
        self.answer(204)


def make_state(server):
    server.orders = []
    server.next_id = 1000

    def state():
        with server.lock:
            return {"orders": len(server.orders),
                    "revoked": [{"id": o["id"], "reason": o["revocationReason"]}
                                for o in server.orders if o["state"] == "revoked"],
                    "emails": [o["email"] for o in server.orders]}
    server.state = state


if __name__ == "__main__":
    serve(SectigoHandler, make_state, __doc__)

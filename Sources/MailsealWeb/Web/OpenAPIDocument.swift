import MailsealModel
import MailsealRA
import Vapor

/// The OpenAPI 3.1 description of the JSON API.
enum OpenAPIDocument {
  @Sendable
  static func serve(_ request: Request) async throws -> Response {
    let response = Response(status: .ok, body: .init(string: document))
    response.headers.contentType = .json
    response.headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=3600")
    return response
  }

  static let document = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Mailseal requester API",
        "version": "1.0.0",
        "description": "What the portal's browser code calls. Authentication: the session cookie set by opening a login link. State-changing calls need the session's CSRF token in X-CSRF-Token. Errors are RFC 9457 problem documents (application/problem+json) in the language of Accept-Language or ?lang=."
      },
      "servers": [{ "url": "/" }],
      "components": {
        "securitySchemes": {
          "session": { "type": "apiKey", "in": "cookie", "name": "mailseal_session" },
          "csrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token" }
        },
        "schemas": {
          "RequestForm": {
            "type": "object",
            "required": ["mailboxType", "keyType", "csr"],
            "properties": {
              "mailboxType": { "type": "string", "enum": ["personal", "role"] },
              "givenName": { "type": "string", "maxLength": 256, "description": "the person whose photo ID the desk checks: the holder of a personal mailbox (in the certificate), or the person responsible for a role mailbox (recorded, not in the certificate); needed for both" },
              "surname": { "type": "string", "maxLength": 256, "description": "as givenName" },
              "commonName": { "type": "string", "maxLength": 256, "description": "role or group mailboxes: the name in natural language" },
              "keyType": { "type": "string", "enum": ["rsa3072", "rsa4096", "p256"] },
              "csr": { "type": "string", "maxLength": 16384, "description": "PKCS#10 request, PEM, signed by the new key (with key escrow: the signing key, never escrowed)" },
              "encryptionCsr": { "type": "string", "maxLength": 16384, "description": "key escrow (MAILSEAL_ESCROW optional or required): the encryption key's PKCS#10 request, PEM, same key type, another key" },
              "escrowEnvelope": { "type": "string", "maxLength": 43692, "description": "key escrow: the encryption key's PKCS#8 in a CMS EnvelopedData (RSAES-OAEP SHA-256, AES-256-CBC) for exactly the installed recovery certificates, base64 DER, at most 32 KiB" },
              "escrowConsent": { "type": "boolean", "description": "key escrow: the requester agrees that the encryption key is escrowed" },
              "publishConsent": { "type": "boolean", "description": "MAILSEAL_PUBLISH=consent: the certificate may be published in the organisation's directory and the look-up (missing: no)" }
            }
          },
          "Request": {
            "type": "object",
            "required": ["number", "state", "mailbox", "mailboxType", "keyType", "keyFingerprint", "created", "keyFileName"],
            "properties": {
              "number": { "type": "string", "pattern": "^R-[0-9A-Z]{4}-[0-9A-Z]{4}$" },
              "state": { "type": "string", "enum": ["submitted", "verified", "approved", "issued", "rejected", "withdrawn", "expired"] },
              "mailbox": { "type": "string" },
              "mailboxType": { "type": "string", "enum": ["personal", "role"] },
              "givenName": { "type": ["string", "null"] },
              "surname": { "type": ["string", "null"] },
              "commonName": { "type": ["string", "null"] },
              "keyType": { "type": "string" },
              "keyFingerprint": { "type": "string", "description": "SHA-256 of the SubjectPublicKeyInfo, hex" },
              "created": { "type": "string", "format": "date-time" },
              "keyFileName": { "type": "string" },
              "encryptionKeyFingerprint": { "type": ["string", "null"], "description": "key escrow: the encryption key's fingerprint (keyFingerprint is then the signing key's)" }
            }
          },
          "DirectoryAnswer": {
            "type": "object",
            "required": ["mailbox", "certificates"],
            "properties": {
              "mailbox": { "type": "string" },
              "certificates": { "type": "array", "items": { "$ref": "#/components/schemas/PublishedCertificate" }, "description": "the published, valid certificates for encryption of exactly this address, newest first; empty for an address without (whether or not it exists)" }
            }
          },
          "PublishedCertificate": {
            "type": "object",
            "required": ["serial", "subject", "notBefore", "notAfter", "sha256", "pem"],
            "properties": {
              "serial": { "type": "string", "description": "hex, lower case" },
              "subject": { "type": "string" },
              "notBefore": { "type": "string", "format": "date-time" },
              "notAfter": { "type": "string", "format": "date-time" },
              "sha256": { "type": "string", "description": "SHA-256 of the certificate's DER, hex pairs separated by colons" },
              "pem": { "type": "string" }
            }
          },
          "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
              "type": { "type": "string" },
              "title": { "type": "string" },
              "status": { "type": "integer" },
              "detail": { "type": "string" },
              "code": { "type": "string" },
              "errors": { "type": "object", "additionalProperties": { "type": "string" } },
              "reference": { "type": "string" }
            }
          }
        },
        "responses": {
          "Problem": { "description": "An error", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } },
          "Unavailable": {
            "description": "The service cannot read or store data for a moment (a database restart); nothing was changed. Try again after Retry-After seconds.",
            "headers": { "Retry-After": { "required": true, "schema": { "type": "integer" } } },
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
          }
        }
      },
      "paths": {
        "/api/v1/requests": {
          "get": {
            "summary": "The requests of the signed-in mailbox, newest first",
            "security": [{ "session": [] }],
            "responses": {
              "200": { "description": "The requests", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Request" } } } } },
              "401": { "$ref": "#/components/responses/Problem" },
              "503": { "$ref": "#/components/responses/Unavailable" }
            }
          },
          "post": {
            "summary": "Submit a request: the form and the CSR the browser made",
            "security": [{ "session": [], "csrf": [] }],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RequestForm" } } } },
            "responses": {
              "201": { "description": "Submitted", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Request" } } } },
              "400": { "$ref": "#/components/responses/Problem" },
              "401": { "$ref": "#/components/responses/Problem" },
              "403": { "$ref": "#/components/responses/Problem" },
              "409": { "$ref": "#/components/responses/Problem" },
              "413": { "$ref": "#/components/responses/Problem" },
              "415": { "$ref": "#/components/responses/Problem" },
              "422": { "$ref": "#/components/responses/Problem" },
              "503": { "$ref": "#/components/responses/Unavailable" }
            }
          }
        },
        "/api/v1/requests/{number}": {
          "parameters": [{ "name": "number", "in": "path", "required": true, "schema": { "type": "string" } }],
          "get": {
            "summary": "One request of the signed-in mailbox",
            "security": [{ "session": [] }],
            "responses": {
              "200": { "description": "The request", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Request" } } } },
              "401": { "$ref": "#/components/responses/Problem" },
              "404": { "$ref": "#/components/responses/Problem" },
              "503": { "$ref": "#/components/responses/Unavailable" }
            }
          }
        },
        "/api/v1/directory": {
          "get": {
            "summary": "The published certificates of one exact address (MAILSEAL_PUBLISH consent or always; 404 when off). No partial matches, no listing; counted per client",
            "parameters": [{ "name": "mailbox", "in": "query", "required": true, "schema": { "type": "string", "maxLength": 320 } }],
            "responses": {
              "200": { "description": "The certificates (maybe none)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/DirectoryAnswer" } } } },
              "404": { "$ref": "#/components/responses/Problem" },
              "422": { "$ref": "#/components/responses/Problem" },
              "429": { "$ref": "#/components/responses/Problem" },
              "503": { "$ref": "#/components/responses/Unavailable" }
            }
          }
        },
        "/api/v1/requests/{number}/withdraw": {
          "parameters": [{ "name": "number", "in": "path", "required": true, "schema": { "type": "string" } }],
          "post": {
            "summary": "Withdraw a request that is not yet approved",
            "security": [{ "session": [], "csrf": [] }],
            "responses": {
              "200": { "description": "Withdrawn", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Request" } } } },
              "401": { "$ref": "#/components/responses/Problem" },
              "403": { "$ref": "#/components/responses/Problem" },
              "404": { "$ref": "#/components/responses/Problem" },
              "409": { "$ref": "#/components/responses/Problem" },
              "413": { "$ref": "#/components/responses/Problem" },
              "503": { "$ref": "#/components/responses/Unavailable" }
            }
          }
        }
      }
    }
    """#
}

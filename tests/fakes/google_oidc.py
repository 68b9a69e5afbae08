"""A stand-in for Google's OIDC issuer as Pub/Sub push uses it, made locally: nothing leaves the machine.

An RSA key made per instance, its self-signed X.509 certificate served in the format of
https://www.googleapis.com/oauth2/v1/certs (`{key id: PEM certificate}`), and ID tokens signed by
google-auth itself with the claims Pub/Sub puts in a push request's `Authorization: Bearer` token.
The certificates are served through an httpx transport or a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import google.auth.crypt
import google.auth.jwt
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

AUDIENCE = "https://desk.example/hooks/gmail/"
PUSH_ACCOUNT = "gmail-push@p2pdesk-test.iam.gserviceaccount.com"
CERTS_PATH = "/oauth2/v1/certs"


class FakeGoogleIssuer:
    def __init__(self, key_id: str = "8e0c7a2b61f14a3f9d5c1e4b7a6f2d0c3b9e8a71") -> None:
        self.key_id = key_id
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.cert_pem = _self_signed(self.key)
        self.served: dict[str, str] = {key_id: self.cert_pem}  # what the certs endpoint answers
        self.fetches = 0
        self.max_age = 19_842  # Google's answers carry a few hours' max-age

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "aud": AUDIENCE,
            "azp": "113774264463038321964",
            "email": PUSH_ACCOUNT,
            "email_verified": True,
            "exp": now + 3600,
            "iat": now,
            "iss": "https://accounts.google.com",
            "sub": "113774264463038321964",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, key_pem: str | None = None, key_id: str | None = None, **claims: Any) -> str:
        signer = google.auth.crypt.RSASigner.from_string(key_pem or self.private_pem, key_id or self.key_id)
        return google.auth.jwt.encode(signer, self.claims(**claims)).decode()

    def unsigned_token(self, **claims: Any) -> str:
        header = {"alg": "none", "typ": "JWT", "kid": self.key_id}
        return f"{_b64(header)}.{_b64(self.claims(**claims))}."

    def certs_response(self) -> httpx.Response:
        self.fetches += 1
        return httpx.Response(
            200,
            json=self.served,
            headers={"Cache-Control": f"public, max-age={self.max_age}, must-revalidate, no-transform"},
        )

    def transport(self, certs_url: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            assert str(request.url) == certs_url, request.url  # nothing but the certificates
            return self.certs_response()

        return httpx.MockTransport(handle)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """The certificates on a real HTTP server on 127.0.0.1; yields their URL."""
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != CERTS_PATH:
                    self.send_error(404)
                    return
                answer = issuer.certs_response()
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Cache-Control"):
                    self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}{CERTS_PATH}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _self_signed(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p2pdesk-test-oidc")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()

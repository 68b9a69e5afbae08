"""The Microsoft identity platform's v2.0 endpoints for one tenant, faked with respx (no network).

`fake_entra()` answers the tenant's OpenID discovery document, which msal reads before its first
token request; each test registers the token endpoint's answers itself on the yielded router.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import respx

TENANT = "0d5c3b1e-7c1a-4f43-9a51-2f6f1e0c8a11"
CLIENT = "6731de76-14a6-49ae-97bc-6eba6914391e"
SECRET = "Zx8Q~client-secret-value.that-must-never-leak"
LOGIN = f"https://login.microsoftonline.com/{TENANT}"
TOKEN_URL = f"{LOGIN}/oauth2/v2.0/token"


@contextmanager
def fake_entra() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").respond(
            json={
                "token_endpoint": TOKEN_URL,
                "issuer": f"{LOGIN}/v2.0",
                "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
            }
        )
        yield mock


def ms_token(n: int, expires_in: int = 3599) -> httpx.Response:
    """A client-credentials answer carrying token `eyJ0.ms-token-<n>.sig`."""
    return httpx.Response(
        200,
        json={
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": f"eyJ0.ms-token-{n}.sig",
        },
    )

"""Encrypting mailbox secrets at rest with Fernet (AES-128-CBC + HMAC), key from the environment."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SecretCipher:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    @classmethod
    def from_settings(cls, encryption_key: str | None, secret_key: str) -> SecretCipher:
        """P2PDESK_ENCRYPTION_KEY when set (a Fernet key); otherwise derived from SECRET_KEY."""
        if encryption_key:
            return cls(encryption_key)
        derived = hashlib.sha256(b"p2pdesk-mailbox-secrets:" + secret_key.encode()).digest()
        return cls(base64.urlsafe_b64encode(derived).decode())

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode() if plain else ""

    def decrypt(self, token: str) -> str | None:
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None  # the key changed: the mailbox reports it cannot log in

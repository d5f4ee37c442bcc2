"""A software passkey for tests: answers WebAuthn ceremonies as an authenticator
does ("none" attestation, ES256), so the server's rules can be tested through HTTP."""

import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url

PRESENT, VERIFIED, ATTESTED = 0x01, 0x04, 0x40


class SoftPasskey:
    """One credential on a pretend authenticator for one site."""

    def __init__(self, rp_id="app.example.com", origin="https://app.example.com"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.raw_id = os.urandom(32)
        self.id = bytes_to_base64url(self.raw_id)
        self.rp_id, self.origin = rp_id, origin
        self.sign_count = 0
        self.user_handle = None

    def public_cose_key(self) -> bytes:
        """The public key as COSE (EC2, P-256, ES256)."""
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        """What the browser signs over: the ceremony, challenge and origin."""
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def authenticator_data(self, flags: int, rp_id: str | None, extra=b"") -> bytes:
        """RP ID hash, flags, counter, and (at registration) the credential."""
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + extra

    def register(self, options: dict, origin=None, rp_id=None, flags=None) -> dict:
        """The answer to navigator.credentials.create() for these options."""
        self.user_handle = options["user"]["id"]
        attested = (
            bytes(16)
            + struct.pack(">H", len(self.raw_id))
            + self.raw_id
            + self.public_cose_key()
        )
        flags = PRESENT | VERIFIED | ATTESTED if flags is None else flags
        attestation = cbor2.dumps(
            {
                "fmt": "none",
                "attStmt": {},
                "authData": self.authenticator_data(flags, rp_id, attested),
            }
        )
        client = self.client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def sign_in(self, options: dict, origin=None, rp_id=None, flags=None) -> dict:
        """The answer to navigator.credentials.get() for these options."""
        self.sign_count += 1
        flags = PRESENT | VERIFIED if flags is None else flags
        data = self.authenticator_data(flags, rp_id)
        client = self.client_data("webauthn.get", options["challenge"], origin)
        signed = data + hashlib.sha256(client).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client),
                "authenticatorData": bytes_to_base64url(data),
                "signature": bytes_to_base64url(signature),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        }

"""How a webhook delivery is signed: HMAC-SHA256 of the body under the target's secret,
sent as ``X-Tessera-Signature: sha256=<hex>``; a receiver checks it with ``verify``."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "X-Tessera-Signature"
DELIVERY_HEADER: Final = "X-Tessera-Delivery"
EVENT_HEADER: Final = "X-Tessera-Event"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, body), header)

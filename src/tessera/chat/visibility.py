"""Who may read a chat message: a reader of its picture cleared for its label (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Mapping

from tessera.core.chat import ChatMessage
from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Principal
from tessera.security.policy import may_read_label, may_read_picture


def may_read_message(
    principal: Principal,
    message: ChatMessage,
    pictures: Mapping[str, Picture],
    scheme: ClassificationScheme,
) -> bool:
    """A picture that does not admit a message's label holds no such message at all."""
    picture = pictures.get(message.picture)
    return (
        picture is not None
        and admits(picture, message.label, scheme)
        and may_read_picture(principal, picture, scheme)
        and may_read_label(principal, message.label, scheme)
    )

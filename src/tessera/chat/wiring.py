"""The chat rooms a Tessera runs, from its settings (``app.build`` calls this)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tessera.chat.service import ChatService
from tessera.chat.sqlite import SqliteChatLog, chat_log_path
from tessera.settings import Settings


def chat_service(settings: Settings, clock: Callable[[], datetime]) -> ChatService:
    return ChatService(
        log_=SqliteChatLog(chat_log_path(settings.data_dir)),
        pictures={picture.name: picture for picture in settings.pictures},
        scheme=settings.scheme,
        clock=clock,
    )

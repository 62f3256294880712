"""A local SMTP server for development: every message it receives becomes a .eml file.

`make run` starts it, so a new user reads the invitations the platform sends
(in the folder SURVEY_MAIL_SINK_DIR, instance/mail/ by default in development,
or on the page /admin/mail/sink) without a real mail server.
"""

from __future__ import annotations

import re
import threading
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from survey.timeutil import utcnow

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FolderHandler:
    """aiosmtpd handler: one file per recipient, named by time and Message-ID."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count = 0

    async def handle_DATA(self, server, session, envelope):
        message_id = message_from_bytes(envelope.content, policy=policy.default).get("Message-ID", "")
        with self._lock:
            self._count += 1
            stamp = utcnow().strftime("%Y%m%dT%H%M%S")
            name = f"{stamp}-{self._count:05d}-{_SAFE.sub('_', message_id.strip('<>'))[:80]}.eml"
        (self.folder / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def sink_controller(folder: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    return Controller(FolderHandler(folder), hostname=host, port=port)


def list_messages(folder: Path, limit: int = 200) -> list[dict]:
    """The newest messages of the sink folder, with their headers, for the development page."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    out = []
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        out.append({"name": path.name, "to": message.get("To", ""), "subject": message.get("Subject", ""),
                    "date": message.get("Date", ""), "message_id": message.get("Message-ID", "")})
    return out


def read_message(folder: Path, name: str) -> dict | None:
    """One message split into its headers, text and HTML parts; None for an unknown name."""
    if _SAFE.sub("_", name) != name or not name.endswith(".eml"):
        return None
    path = folder / name
    if not path.is_file():
        return None
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {"name": name, "headers": list(message.items()),
            "text": text.get_content() if text else "", "html": html.get_content() if html else ""}

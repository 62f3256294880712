"""A real SMTP server on loopback (aiosmtpd) whose behaviour each test controls."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.live_server import free_port


@dataclass
class Received:
    recipient: str
    message_id: str
    content: bytes

    @property
    def message(self):
        return message_from_bytes(self.content, policy=policy.default)


@dataclass
class Behaviour:
    """What the server answers. Mutable while it runs (the handler reads it on every command)."""

    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> "550 ..." reply at RCPT
    temporary_failures: int = 0  # answer DATA with 451 this many times first
    delay: float = 0.0  # seconds before answering DATA


class RecordingHandler:
    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.temporary_given = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.behaviour.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.behaviour.delay:
            await asyncio.sleep(self.behaviour.delay)
        with self.lock:
            if self.temporary_given < self.behaviour.temporary_failures:
                self.temporary_given += 1
                return "451 4.3.0 Temporary local problem, try again later"
            message_id = message_from_bytes(envelope.content, policy=policy.default)["Message-ID"]
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(rcpt, message_id, envelope.content))
        return "250 2.0.0 Accepted"


class SmtpServer:
    """Start, stop and restart on the same port: the server being down is a real refused connection."""

    def __init__(self, behaviour: Behaviour | None = None):
        self.port = free_port()
        self.handler = RecordingHandler(behaviour or Behaviour())
        self.controller: Controller | None = None

    @property
    def behaviour(self) -> Behaviour:
        return self.handler.behaviour

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def message_id_counts(self) -> Counter:
        return Counter(r.message_id for r in self.received)

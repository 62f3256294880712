"""One SMTP conversation per message: connect (TLS, login), send, and classify the server's reply.

The reply decides what happens to the message: 4xx replies, refused
connections, disconnects and timeouts are temporary (retried with backoff);
5xx replies are permanent and kept for the administrator.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

from survey.invitations.emails import envelope_address
from survey.invitations.models import FAILED, QUEUED, SENT
from survey.invitations.outbox import MailError


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "none"  # none | starttls | ssl
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config) -> SmtpSettings:
        if not config.get("SMTP_HOST"):
            raise MailError("Chưa cấu hình máy chủ thư (SURVEY_SMTP_HOST).")
        return cls(host=config["SMTP_HOST"], port=int(config.get("SMTP_PORT", 25)),
                   security=config.get("SMTP_SECURITY", "none"), user=config.get("SMTP_USER"),
                   password=config.get("SMTP_PASSWORD"))


@dataclass(frozen=True)
class Result:
    status: str  # SENT, QUEUED (temporary failure) or FAILED (permanent)
    reply: str | None = None
    connection_lost: bool = False


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"[:500]


class Relay:
    """A connection to the province's mail server, opened on first use and reused across messages."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._connection is None:
            settings = self.settings
            if settings.security == "ssl":
                connection = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                              context=ssl.create_default_context())
            else:
                connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            try:
                connection.ehlo()
                if settings.security == "starttls":
                    connection.starttls(context=ssl.create_default_context())
                    connection.ehlo()
                if settings.user:
                    connection.login(settings.user, settings.password or "")
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def close(self) -> None:
        """Say goodbye politely (QUIT); a server that is already gone is just closed."""
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def deliver(self, sender: str, recipient: str, body: bytes) -> Result:
        try:
            connection = self._connect()
            connection.sendmail(envelope_address(sender), [recipient], body)
            return Result(SENT)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients.get(recipient, next(iter(error.recipients.values())))
            return self._classify(code, reply)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return self._classify(error.smtp_code, error.smtp_error)
        except smtplib.SMTPAuthenticationError as error:
            # A configuration problem, not this recipient's: keep the message and retry later.
            self._drop()
            return Result(QUEUED, _reply_text(error.smtp_code, error.smtp_error), connection_lost=True)
        except smtplib.SMTPResponseException as error:
            self._drop()
            result = self._classify(error.smtp_code, error.smtp_error)
            return Result(result.status, result.reply, connection_lost=True)
        except smtplib.SMTPServerDisconnected as error:
            self._drop()
            return Result(QUEUED, f"máy chủ ngắt kết nối: {error}"[:500], connection_lost=True)
        except (TimeoutError, socket.timeout) as error:
            self._drop()
            return Result(QUEUED, f"quá thời gian chờ máy chủ: {error}"[:500], connection_lost=True)
        except (OSError, smtplib.SMTPException) as error:
            self._drop()
            return Result(QUEUED, f"không kết nối được máy chủ thư: {error}"[:500], connection_lost=True)

    def _classify(self, code: int, reply) -> Result:
        text = _reply_text(code, reply)
        if 500 <= code < 600:
            return Result(FAILED, text)
        if code == 421:  # the server is closing the connection
            self._drop()
            return Result(QUEUED, text, connection_lost=True)
        return Result(QUEUED, text)

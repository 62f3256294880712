"""E-mails from a round's templates: sandboxed rendering and complete RFC 5322 messages.

Administrators edit the templates, so they are rendered in a bounded Jinja sandbox
(survey.invitations.sandbox: size, steps and time) with a fixed set of variables; the HTML
part is autoescaped, the text part is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SecurityError

from survey.config import PROJECT_ROOT
from survey.invitations.models import INVITATION, REMINDER
from survey.invitations.sandbox import BoundedSandbox, Limits, LimitExceeded, render_bounded
from survey.timeutil import utcnow

EMAIL_TEMPLATES = PROJECT_ROOT / "templates" / "emails"

DEFAULT_SUBJECTS = {
    INVITATION: "Thư mời tham gia {{ round_title }}",
    REMINDER: "Nhắc trả lời phiếu {{ round_title }} (hạn {{ deadline }})",
}

# What a template may use, with the sample values of the preview.
VARIABLES = {
    "full_name": ("họ và tên người nhận", "Nguyễn Văn An"),
    "round_title": ("tên đợt khảo sát", "Khảo sát xã hội học Chỉ số CCHC năm 2023"),
    "province": ("tên tỉnh", "tỉnh Lào Cai"),
    "deadline": ("hạn trả lời (giờ Việt Nam)", "23:59 ngày 31/12/2023"),
    "link": ("đường dẫn riêng của người nhận", "https://khaosat.example.vn/r/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    "group": ("nhóm đối tượng", "Lãnh đạo sở, ban, ngành"),
    "agency": ("cơ quan, đơn vị", "Sở Nội vụ"),
}


class TemplateProblem(ValueError):
    pass


@dataclass(frozen=True)
class Wording:
    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def default_wording(kind: str) -> Wording:
    return Wording(
        subject=DEFAULT_SUBJECTS[kind],
        body_text=(EMAIL_TEMPLATES / f"{kind}.txt").read_text(encoding="utf-8"),
        body_html=(EMAIL_TEMPLATES / f"{kind}.html").read_text(encoding="utf-8"),
    )


_text_env = BoundedSandbox(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
_html_env = BoundedSandbox(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


class Renderer:
    """A wording compiled once, rendered per recipient (thousands per campaign)."""

    def __init__(self, wording: Wording):
        parts = (("Tiêu đề", _text_env, wording.subject), ("Nội dung văn bản", _text_env, wording.body_text),
                 ("Nội dung HTML", _html_env, wording.body_html))
        self._templates = []
        for label, env, source in parts:
            try:
                self._templates.append(env.bounded_template(source))
            except TemplateSyntaxError as error:
                raise TemplateProblem(f"{label}: lỗi cú pháp ở dòng {error.lineno}: {error.message}") from None
            except (LimitExceeded, SecurityError) as error:
                raise TemplateProblem(f"{label}: {error}.") from None
            if "link" not in source and label != "Tiêu đề":
                raise TemplateProblem(f"{label} phải chứa đường dẫn riêng {{{{ link }}}}.")

    def render(self, context: dict, limits: Limits | None = None) -> Rendered:
        labels = ("Tiêu đề", "Nội dung văn bản", "Nội dung HTML")
        out = []
        for label, template in zip(labels, self._templates):
            try:
                out.append(render_bounded(template, context, limits))
            except UndefinedError as error:
                known = ", ".join(VARIABLES)
                raise TemplateProblem(f"{label}: biến không tồn tại ({error.message}); chỉ dùng được: {known}.") from None
            except SecurityError as error:
                raise TemplateProblem(f"{label}: thao tác không được phép trong mẫu thư ({error}).") from None
            except LimitExceeded as error:
                raise TemplateProblem(f"{label}: mẫu thư vượt giới hạn cho phép ({error}).") from None
            except (ArithmeticError, LookupError, TypeError, ValueError) as error:
                raise TemplateProblem(f"{label}: lỗi khi điền mẫu thư ({error}).") from None
        subject = " ".join(out[0].split())  # a header: one line
        if not subject:
            raise TemplateProblem("Tiêu đề thư không được để trống.")
        return Rendered(subject=subject[:255], text=out[1], html=out[2])


def sample_context() -> dict:
    return {name: sample for name, (_label, sample) in VARIABLES.items()}


def check_wording(wording: Wording) -> Rendered:
    """Compile and render with the sample values; raise TemplateProblem with a Vietnamese reason."""
    return Renderer(wording).render(sample_context())


@lru_cache(maxsize=64)
def envelope_address(sender: str) -> str:
    """The bare address of a From value that may carry a display name."""
    return parseaddr(sender)[1] or sender


def new_message_id(sender: str) -> str:
    domain = envelope_address(sender).rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    # The standard library folds a non-ASCII header (RFC 2047 encoded words) in
    # about a millisecond; a campaign repeats the same From and usually the same
    # Subject thousands of times, so each distinct value is folded once.
    return SMTP.fold_binary(*SMTP.header_store_parse(name, value))


@lru_cache(maxsize=256)
def _folded_text(name: str, value: str) -> bytes:
    # A free-text header (the subject). The policy's folder can put the space
    # between two words outside the encoded words, as folding whitespace, where
    # RFC 2047 decoders drop it ("mời Tiếnphiếu"); Header encodes the whole text,
    # spaces included, in encoded words of at most 76 characters.
    if value.isascii():
        return _folded(name, value)
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def build_message(*, sender: str, recipient: str, message_id: str, rendered: Rendered) -> bytes:
    """The complete message as sent, CRLF line endings (policy SMTP), UTF-8 throughout.

    The MIME body (text and HTML alternatives, quoted-printable) is an
    EmailMessage serialised with policy SMTP; the envelope headers in front of
    it are folded by the same policy.
    """
    body = EmailMessage(policy=SMTP)
    body.set_content(rendered.text, cte="quoted-printable")
    body.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    head = b"".join((
        _folded("From", sender),
        _folded("To", recipient),
        _folded_text("Subject", rendered.subject),
        _folded("Date", format_datetime(utcnow())),  # one value per second: the cache serves bursts
        b"Message-ID: " + message_id.encode("ascii") + b"\r\n",
        b"Auto-Submitted: auto-generated\r\n",  # vacation responders should not answer
    ))
    return head + body.as_bytes(policy=SMTP)

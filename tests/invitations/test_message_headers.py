"""The subject a recipient's mail program shows is the subject the staff wrote, spaces included."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.header import decode_header, make_header

from hypothesis import given, settings
from hypothesis import strategies as st

from survey.invitations.emails import Rendered, build_message

WORDS = ("Tiến", "độ", "Khảo", "sát", "xã", "hội", "học", "Chỉ", "số", "CCHC", "năm", "2023", "của", "tỉnh",
         "Lào", "Cai", "—", "Sở", "Tư", "pháp", "đã", "nộp", "phiếu", "Kính", "mời", "đồng", "chí", "12/40", "A")


def message_with_subject(subject: str) -> bytes:
    rendered = Rendered(subject=subject, text="Nội dung", html="<p>Nội dung</p>")
    return build_message(sender="Sở Nội vụ <sonoivu@example.vn>", recipient="a@example.vn",
                         message_id="<1@example.vn>", rendered=rendered)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=40).map(" ".join))
def test_a_long_vietnamese_subject_reads_back_with_every_space(subject):
    raw = message_with_subject(subject)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject
    # Older readers decode the encoded words themselves.
    legacy = message_from_bytes(raw, policy=policy.compat32)["Subject"]
    assert str(make_header(decode_header(legacy))) == subject


def test_an_ascii_subject_stays_readable_text():
    raw = message_with_subject("Survey reminder 2023")
    assert b"\r\nSubject: Survey reminder 2023\r\n" in raw or raw.startswith(b"Subject: Survey reminder 2023\r\n")

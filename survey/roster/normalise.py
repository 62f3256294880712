"""Normalising what people type into roster spreadsheets: names, phones, e-mails, header words.

Pure functions (no Flask, no database) so that the import engine, the web forms and the
property tests share one definition of "the same value".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

_SPACES = re.compile(r"\s+")
# Characters a person's name may contain besides letters and combining marks.
_NAME_PUNCTUATION = set(" .'-")


class InvalidValue(ValueError):
    """A cell whose value cannot be used; the message is Vietnamese and shown to the user."""


# Control characters and the odd spaces that spreadsheets carry (no-break, zero-width, BOM, line breaks).
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u2060\u3000\ufeff]")


def clean_text(value: object) -> str:
    """NFC, no control characters, single spaces, trimmed. Everything read from a cell goes through here."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 912345678 as 912345678.0
    text = str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = _NOT_PLAIN.sub(" ", text)
    if "  " in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


def normalise_name(value: object) -> str:
    """A person's name in NFC with single spaces; refuses anything but letters and . ' -"""
    name = clean_text(value)
    if not name:
        raise InvalidValue("Thiếu họ và tên.")
    if len(name) > 255:
        raise InvalidValue("Họ và tên dài quá 255 ký tự.")
    bad = sorted({ch for ch in name if not (ch.isalpha() or unicodedata.category(ch).startswith("M")
                                             or ch in _NAME_PUNCTUATION)})
    if bad:
        # Covers HTML/script tags and spreadsheet formulas (= + @) pasted into the name column.
        raise InvalidValue(f"Họ và tên chứa ký tự không hợp lệ: {' '.join(bad)}")
    return name


@lru_cache(maxsize=8192)
def fold(value: object) -> str:
    """Lower-case, without diacritics or punctuation: how headers, agencies and groups are compared."""
    text = clean_text(value).lower().replace("đ", "d")
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return _SPACES.sub(" ", re.sub(r"[^a-z0-9]+", " ", text)).strip()


def name_key(name: str) -> str:
    """Comparison key for "the same name": case and spacing do not matter, diacritics do."""
    return clean_text(name).casefold()


# Vietnamese numbers after the trunk 0: mobile 9 digits starting 3/5/7/8/9; landline 2 + 9 digits.
_MOBILE = re.compile(r"^[35789]\d{8}$")
_LANDLINE = re.compile(r"^2\d{9}$")


def normalise_phone(value: object) -> str:
    """One form for a Vietnamese phone number: '0' + national number, digits only ('0912345678').

    Accepts +84 / 84 / 0084 prefixes, spaces, dots, dashes and brackets, and a leading zero lost
    when Excel stored the number as a number. Empty input gives ''.
    """
    raw = clean_text(value)
    if not raw:
        return ""
    if re.search(r"[^\d\s.\-()+/]", raw):
        raise InvalidValue(f"Số điện thoại không hợp lệ: {raw}")
    digits = re.sub(r"\D", "", raw)
    plus = raw.startswith("+")
    if digits.startswith("0084"):
        national = digits[4:]
    elif digits.startswith("84") and (plus or len(digits) in (11, 12)):
        national = digits[2:]
    elif plus:
        raise InvalidValue(f"Số điện thoại không phải số Việt Nam: {raw}")
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits  # the leading 0 that Excel dropped
    if national.startswith("0"):
        national = national[1:]  # "+84 0912…": the trunk zero written after the country code
    if not (_MOBILE.match(national) or _LANDLINE.match(national)):
        raise InvalidValue(f"Số điện thoại không hợp lệ: {raw}")
    return "0" + national


# A placeholder domain for checking a local part: email-validator's domain checks (IDNA, UTS-46
# character by character) are the expensive part, and a roster uses a handful of domains.
_PLACEHOLDER_DOMAIN = "a.vn"


@lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> str:
    return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain


def normalise_email(value: object) -> tuple[str, str]:
    """(address as written but normalised, lower-case key for duplicate detection); ('', '') if empty.

    The same verdict as email-validator on the whole address: each distinct domain is checked once,
    each local part against a fixed domain, and the length limit on the result.
    """
    raw = clean_text(value)
    if not raw:
        return "", ""
    if raw.lower().startswith("mailto:"):
        raw = raw[7:]  # a hyperlink cell pasted as text
    local, at, domain = raw.rpartition("@")
    try:
        if not at or not local:
            raise EmailNotValidError("no @")
        domain = _checked_domain(domain)
        local = validate_email(f"{local}@{_PLACEHOLDER_DOMAIN}", check_deliverability=False).local_part
        address = f"{local}@{domain}"
        if len(address) > 254:
            raise EmailNotValidError("too long")
    except EmailNotValidError:
        raise InvalidValue(f"E-mail không hợp lệ: {raw}") from None
    return address, address.lower()

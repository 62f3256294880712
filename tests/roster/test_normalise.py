"""Phone, name and e-mail normalisers: examples pinned by hand, and properties (hypothesis)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.roster.normalise import (
    InvalidValue,
    clean_text,
    normalise_email,
    normalise_name,
    normalise_phone,
)


@pytest.mark.parametrize("raw", [
    "0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "+84 912 345 678", "+84912345678",
    "84912345678", "0084 912 345 678", "912345678", 912345678, 912345678.0, "+84 (0) 912 345 678",
])
def test_mobile_numbers_written_every_usual_way_become_one_form(raw):
    assert normalise_phone(raw) == "0912345678"


@pytest.mark.parametrize("raw, expected", [
    ("(0214) 3840 123", "02143840123"),   # Lào Cai landline
    ("2143840123", "02143840123"),        # leading zero lost by Excel
    ("+84 24 3825 1234", "02438251234"),
    ("0841234567", "0841234567"),         # a mobile starting 084, not the country code
    ("841234567", "0841234567"),          # the same with its zero lost
])
def test_landlines_and_ambiguous_prefixes(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "0612345678", "+1 202 555 0143", "0912 345 67a", "091234567890", "=0912345678"])
def test_numbers_that_are_not_vietnamese_phones_are_refused(raw):
    with pytest.raises(InvalidValue, match="Số điện thoại"):
        normalise_phone(raw)


def test_empty_phone_is_no_phone():
    assert normalise_phone("  ") == "" and normalise_phone(None) == ""


mobile_numbers = st.builds(lambda first, rest: f"{first}{rest:08d}", st.sampled_from("35789"),
                           st.integers(0, 99_999_999))
separators = st.sampled_from(["", " ", ".", "-"])


@given(mobile_numbers, st.sampled_from(["0", "+84", "84", "+84 ", "0084", ""]), separators)
def test_any_spelling_of_a_mobile_number_gives_zero_and_nine_digits(national, prefix, sep):
    spelled = prefix + sep.join([national[:3], national[3:6], national[6:]])
    result = normalise_phone(spelled)
    assert result == "0" + national
    assert normalise_phone(result) == result  # idempotent


@given(st.text(max_size=30))
def test_phone_normaliser_either_refuses_or_returns_a_fixed_point(text):
    try:
        result = normalise_phone(text)
    except InvalidValue:
        return
    assert result == "" or (result.isdigit() and result.startswith("0") and len(result) in (10, 11))
    assert normalise_phone(result) == result


vietnamese_letters = st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"))
words = st.lists(vietnamese_letters, min_size=1, max_size=7).map("".join).map(str.capitalize)
names = st.lists(words, min_size=1, max_size=5)
spaces = st.sampled_from([" ", "  ", "\t", "\u00a0", " \n "])


@given(names, spaces, spaces, spaces)
def test_names_come_out_nfc_with_single_spaces_whatever_the_spacing_and_form(parts, lead, sep, trail):
    expected = " ".join(parts)
    typed = lead + sep.join(unicodedata.normalize("NFD", p) for p in parts) + trail
    result = normalise_name(typed)
    assert result == expected
    assert unicodedata.is_normalized("NFC", result)
    assert normalise_name(result) == result


@given(st.text(max_size=40))
def test_clean_text_is_idempotent_nfc_and_trimmed(text):
    result = clean_text(text)
    assert clean_text(result) == result
    assert unicodedata.is_normalized("NFC", result)
    assert result == result.strip() and "  " not in result


@pytest.mark.parametrize("raw", ["<script>alert(1)</script>", "Nguyễn <b>An</b>", "=HYPERLINK(\"http://x\")",
                                 "@SUM(A1)", "Nguyễn Văn 2"])
def test_markup_formulas_and_digits_are_not_names(raw):
    with pytest.raises(InvalidValue, match="Họ và tên chứa ký tự không hợp lệ"):
        normalise_name(raw)


def test_email_keeps_the_address_and_a_lower_case_key():
    assert normalise_email(" An.Nguyen@LaoCai.gov.vn ") == ("An.Nguyen@laocai.gov.vn", "an.nguyen@laocai.gov.vn")
    assert normalise_email("mailto:an@laocai.gov.vn") == ("an@laocai.gov.vn", "an@laocai.gov.vn")
    with pytest.raises(InvalidValue, match="E-mail không hợp lệ"):
        normalise_email("an@@laocai")


@pytest.mark.parametrize("raw", ["an@laocai.gov.vn", "An.Nguyen+ds@LaoCai.Gov.VN", "a@b", "@laocai.gov.vn", "an@",
                                 "an@@laocai.gov.vn", "an nguyen@laocai.gov.vn", "an@laocai..vn", "an@localhost",
                                 "an@x.local", "\"an@x\"@laocai.gov.vn", "an@" + "a" * 250 + ".vn",
                                 "a" * 65 + "@laocai.gov.vn", "nguyễn@laocai.gov.vn", "an@bộnộivụ.vn"])
def test_the_cached_email_check_agrees_with_email_validator_on_the_whole_address(raw):
    from email_validator import EmailNotValidError, validate_email

    try:
        expected = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        with pytest.raises(InvalidValue):
            normalise_email(raw)
    else:
        address, key = normalise_email(raw)
        assert address == f"{expected.local_part}@{expected.ascii_domain}" and key == address.lower()

"""schemas.customers.e164: its quick path for mainland mobiles answers as the full parse does."""

import random

import phonenumbers
import pytest

from schemas.customers import e164


def _by_full_parse(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _by_e164(raw: str) -> str | None:
    try:
        return e164(raw)
    except ValueError:
        return None


def test_every_mainland_prefix_is_answered_as_the_full_parse_answers_it() -> None:
    chosen = random.Random(95598)
    samples = []
    # Every four-digit start of an 11-digit number beginning with 1 (carrier codes like 12593 and
    # 17951 among them), plain and with +86, and a few shapes that must take the full parse.
    for prefix in range(1000, 2000):
        tail = "".join(chosen.choice("0123456789") for _ in range(7))
        samples += [f"{prefix}{tail}", f"+86{prefix}{tail}"]
    samples += [
        "86 138 0013 8000",
        "(0)13800138000",
        "013800138000",
        "+852 9123 4567",
        "021-6888 1234",
        "1380013800",
    ]
    assert [_by_e164(s) for s in samples] == [_by_full_parse(s) for s in samples]
    assert sum(_by_e164(s) is not None for s in samples) > 500, "the samples include many valid numbers"


@pytest.mark.parametrize("raw", ["12345678901", "+8614012345678", "1380013800a", ""])
def test_what_the_full_parse_refuses_is_refused(raw: str) -> None:
    assert _by_full_parse(raw) is None
    with pytest.raises(ValueError, match="phone"):
        e164(raw)

"""Pure SMS rules: how long a text is and how many segments it costs."""

import functools
import math

import msgspec

MAX_BODY_CHARS = 1600
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each takes an escape septet plus itself.
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


class SmsSize(msgspec.Struct, frozen=True):
    encoding: str
    # Septets for GSM-7, UTF-16 code units for UCS-2.
    units: int
    segments: int


# A fan-out sizes the same few texts (one per language) for every recipient.
@functools.lru_cache(maxsize=1024)
def sms_size(text: str) -> SmsSize:
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text):
        units = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsSize(encoding, units, segments)

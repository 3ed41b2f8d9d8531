"""Customers of the utility and the pure parsing of its customer file."""

import codecs
import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator

import msgspec
import phonenumbers

LANGUAGES = {
    "zh-cn": "zh-CN",
    "zh": "zh-CN",
    "zh-hans": "zh-CN",
    "cn": "zh-CN",
    "": "zh-CN",
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
}
TRUE = {"1", "true", "yes", "y", "是"}
FALSE = {"0", "false", "no", "n", "否", ""}
REQUIRED_COLUMNS = (
    "account",
    "name",
    "phone",
    "region",
    "feeder",
    "transformer_area",
    "important",
    "language",
)


# The key of a row the csv reader could not read; its value says why (never a column name: it
# has a NUL character, which a CSV header cannot).
UNREADABLE = "\x00unreadable"


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    name: str
    # E.164, e.g. +8613800138000
    phone: str
    region: str
    feeder: str
    transformer_area: str
    important: bool
    language: str
    address: str = ""


class RowProblem(msgspec.Struct, frozen=True):
    line: int
    reason: str


class FileProblem(ValueError):
    """The file as a whole cannot be read (missing columns): nothing is imported."""


_SPACE_OR_PUNCTUATION = re.compile(r"[\s,，.。·、:：;；'\"()（）\-—_/#]+")


def address_key(text: str) -> str:
    """An address as people write it, in one form: full-width digits and letters as ASCII (NFKC),
    no spaces or punctuation, 號 as 号, and no closing 号 ("张江路２９２号" = "张江路 292" =
    "张江路292号"). Empty when nothing is left."""
    normal = unicodedata.normalize("NFKC", text).lower().replace("號", "号")
    normal = _SPACE_OR_PUNCTUATION.sub("", normal)
    return normal.removesuffix("号")


# A mainland mobile number as it nearly always comes (11 digits, maybe +86) is checked against the
# library's own pattern for CN mobiles, without a full parse: that parse was most of an import's
# time. Anything else takes the full parse; both give the same answer (tests/unit).
_CN_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("CN")
assert _CN_METADATA is not None and _CN_METADATA.mobile is not None
_CN_MOBILE = re.compile(str(_CN_METADATA.mobile.national_number_pattern))
_CN_PLAIN = re.compile(r"(?:\+86)?(1\d{10})")


def e164(raw: str, default_region: str = "CN") -> str:
    """The number in E.164, or ValueError saying why not."""
    if default_region == "CN":
        plain = _CN_PLAIN.fullmatch(raw)
        if plain is not None and _CN_MOBILE.fullmatch(plain[1]):
            return "+86" + plain[1]
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {raw!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _customer(row: dict[str, str]) -> Customer:
    values = {k: (v or "").strip() for k, v in row.items() if k is not None}
    for column in ("account", "phone", "region"):
        if not values.get(column):
            raise ValueError(f"{column} is empty")
    if not (values.get("feeder") or values.get("transformer_area")):
        raise ValueError(
            "feeder and transformer_area are both empty: the customer could never be reached by area"
        )
    important = values.get("important", "").lower()
    if important not in TRUE | FALSE:
        raise ValueError(f"important {values['important']!r} is not one of 1/0, true/false, yes/no, 是/否")
    language = LANGUAGES.get(values.get("language", "").lower())
    if language is None:
        raise ValueError(f"language {values['language']!r} is not zh-CN or en")
    return Customer(
        account=values["account"],
        name=values.get("name", ""),
        phone=e164(values["phone"]),
        region=values["region"],
        feeder=values.get("feeder", ""),
        transformer_area=values.get("transformer_area", ""),
        important=important in TRUE,
        language=language,
        address=values.get("address", ""),
    )


# Enough of a file to tell its encoding by: the header and a few hundred rows.
ENCODING_SAMPLE = 64 * 1024
CONVERT_HINT = (
    "save it from Excel as 'CSV UTF-8', or convert it: iconv -f GB18030 -t UTF-8 file.csv > file-utf8.csv"
)


def file_encoding(sample: bytes) -> str:
    """The encoding of a customer file from its first bytes: UTF-8 (with or without the BOM Excel
    writes), else GB18030 (a superset of the GBK that Excel on Chinese Windows saves), else
    FileProblem saying how to convert it. `sample` may end inside a character."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileProblem(f"the file is neither UTF-8 nor GBK/GB18030: {CONVERT_HINT}")


def customer_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a customer file; line numbers count the header as line 1."""
    reader = csv.DictReader(lines)
    header = [h.strip().lstrip("\ufeff") for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FileProblem(
            f"the header row lacks the column(s) {', '.join(missing)}; it needs {', '.join(REQUIRED_COLUMNS)}"
        )
    reader.fieldnames = header
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A field over the csv module's 128 KiB limit, a NUL byte: that row is refused, the
            # reader goes on with the next line.
            yield line, {UNREADABLE: str(exc)}
            continue
        yield reader.line_num, row


def validate_rows(rows: list[tuple[int, dict[str, str]]]) -> list[tuple[int, Customer | RowProblem]]:
    """(line, customer or problem), in order. Picklable, so chunks can run in other processes."""
    found: list[tuple[int, Customer | RowProblem]] = []
    for line, row in rows:
        if UNREADABLE in row:
            found.append((line, RowProblem(line, f"the row cannot be read: {row[UNREADABLE]}")))
            continue
        if None in row:
            extra = row[None]  # type: ignore[index]
            problem = RowProblem(line, f"{len(row) - 1 + len(extra)} fields, the header has {len(row) - 1}")
            found.append((line, problem))
            continue
        try:
            found.append((line, _customer(row)))
        except ValueError as exc:
            found.append((line, RowProblem(line, str(exc))))
    return found


class ImportReport(msgspec.Struct, kw_only=True):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # The first rejected rows (line and reason); `rejected` counts them all.
    problems: list[RowProblem] = []

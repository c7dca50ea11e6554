"""How a CSV file is written: its encoding, delimiter and quote, told from its first bytes.

- Encoding: a byte order mark says UTF-8 or UTF-16; else text that is valid UTF-8 is UTF-8;
  else charset-normalizer picks among the single-byte code pages spreadsheets write
  (Windows-1251 for Cyrillic, Windows-1252 and Latin-1 for Western Europe, ...).
- Delimiter and quote: the file is parsed with each candidate (`,` `;` tab `|`, with `"` or
  `'` quotes). The one that splits the most records of the sample into the header's fields
  (two or more) wins; then one that splits the header into two or more names; then the one
  that gives most records the header's width; then the one giving the most fields; ties go
  to the usual choice (`,` then `;`, `"`). A decimal comma
  in a `;` file (`1234,50`) does not split its header, so it cannot mislead the choice.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import charset_normalizer

from domain.tables.errors import MalformedSource
from domain.tables.model import FileFormat

SAMPLE_BYTES: Final = 64 << 10
"""Bytes read to tell the format."""

DELIMITERS: Final = (",", ";", "\t", "|")
QUOTES: Final = ('"', "'")

SINGLE_BYTE_ENCODINGS: Final = (
    "cp1252",
    "cp1251",
    "cp1250",
    "cp1253",
    "cp1254",
    "cp1257",
    "latin_1",
    "iso8859_15",
    "koi8_r",
    "mac_roman",
)
"""What older spreadsheets and databases write when they do not write UTF-8."""

ALWAYS_WEIGHED: Final = ("cp1252", "cp1251")
"""The code pages of Western European and Cyrillic spreadsheets."""
PLAUSIBILITY_MARGIN: Final = 0.05
"""How much less plausible than the best a code page may read and still tie with it."""
MAX_ACCENTED_SHARE: Final = 0.6
"""Latin-script words have few accented letters; a word of more reads as another script's
letters decoded in the wrong code page ("Ïèööà" for "пицца")."""

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Longest first: a UTF-32 LE mark starts like a UTF-16 LE one."""


@dataclass(frozen=True, slots=True)
class Sniffed:
    """A file's format, and whether its encoding was certain (a mark, or valid UTF-8) or a
    guess from how the text reads."""

    format: FileFormat
    guessed: bool


def sniff(head: bytes, file_name: str) -> Sniffed:
    """The format of a file whose first bytes are `head` (up to SAMPLE_BYTES)."""
    encoding, guessed = detect_encoding(head, file_name)
    text = _decode_head(head, encoding)
    delimiter, quote = detect_delimiter(text)
    return Sniffed(FileFormat(encoding=encoding, delimiter=delimiter, quote=quote), guessed)


def detect_encoding(head: bytes, file_name: str) -> tuple[str, bool]:
    """The encoding of `head`, as a Python codec name, and whether it was guessed."""
    for mark, encoding in _BOMS:
        if head.startswith(mark):
            return encoding, False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as error:
        if _plausibility(head[: error.start].decode(), of_none=0.0) > 0:
            # Real UTF-8 words before a byte that is not: UTF-8 with a broken byte, which
            # the reader reports with its line and column (no other encoding fits).
            return "utf-8", False
    else:
        return "utf-8", False
    readable = _readable(head)
    if not readable:
        raise MalformedSource(
            file_name,
            "its text is in no encoding this service reads (UTF-8, UTF-16 or a single-byte "
            "code page such as Windows-1251 or Latin-1)",
        )
    # Among the code pages that read the text into letters, the one whose words look most
    # like words wins (charset-normalizer alone judges a few words poorly: French in
    # Windows-1252 loses to Baltic Windows-1257), and ties go by the order of
    # SINGLE_BYTE_ENCODINGS, the likelier first.
    scores = {name: _plausibility(text) for name, text in readable.items()}
    best = max(scores.values())
    tied = {name for name, score in scores.items() if score >= best - PLAUSIBILITY_MARGIN}
    return min(tied, key=_preference), True


def detect_delimiter(text: str) -> tuple[str, str]:
    """The delimiter and quote that split the sample `text` most regularly."""
    # The sample may end inside a record: keep its complete lines only.
    sample = text[: text.rfind("\n") + 1] or text
    best: tuple[tuple[int, bool, float, int, int], str, str] | None = None
    for quote_rank, quote in enumerate(QUOTES):
        for delimiter_rank, delimiter in enumerate(DELIMITERS):
            try:
                rows = [row for row in _rows(sample, delimiter, quote) if row]
            except csv.Error:
                continue  # this candidate reads the sample as no CSV at all
            if not rows:
                continue
            width = len(rows[0])
            regular = sum(len(row) == width for row in rows) / len(rows)
            # Records split into the header's fields are the evidence (a delimiter the header
            # does not have splits nothing); then how regular, then how many fields.
            split = sum(len(row) == width for row in rows[1:]) if width > 1 else 0
            # Failing that, one that splits the header into names, where the records split too
            # (a file whose only record is malformed), or where there is no record yet.
            named = (
                not split
                and sum(bool(cell.strip()) for cell in rows[0]) > 1
                and all(len(row) > 1 for row in rows[1:])
            )
            score = (split, named, regular, width, -(quote_rank * 10 + delimiter_rank))
            if best is None or score > best[0]:
                best = (score, delimiter, quote)
    if best is None:
        return DELIMITERS[0], QUOTES[0]
    return best[1], best[2]


_PREFERENCE: Final = {
    codecs.lookup(name).name: rank for rank, name in enumerate(SINGLE_BYTE_ENCODINGS)
}


def _preference(codec: str) -> int:
    return _PREFERENCE.get(codec, len(_PREFERENCE))


def _readable(head: bytes) -> dict[str, str]:
    """The text of `head` in each code page charset-normalizer finds it readable in (laxly:
    text mixing scripts or symbols reads as a mess to its defaults). It stops at the first
    clean reading and refuses some short texts, so the two likeliest code pages are weighed
    whenever they decode the bytes at all."""
    candidates = list(SINGLE_BYTE_ENCODINGS)
    matches = charset_normalizer.from_bytes(head, cp_isolation=candidates, threshold=0.6)
    readable = {
        codecs.lookup(name).name: str(match)
        for match in matches
        for name in (match.encoding, *match.could_be_from_charset)
    }
    for likely in ALWAYS_WEIGHED:
        with contextlib.suppress(UnicodeDecodeError):
            readable.setdefault(likely, head.decode(likely))
    return readable


_WORD: Final = re.compile(r"[^\W\d_]+")


def _plausibility(text: str, *, of_none: float = 1.0) -> float:
    """The share of the words with letters beyond ASCII that look like words: letters of one
    script, and few accented ones in a Latin-script word (`of_none` when there are none)."""
    words = [word for word in _WORD.findall(text) if not word.isascii()]
    if not words:
        return of_none
    return sum(_plausible(word) for word in words) / len(words)


def _plausible(word: str) -> bool:
    scripts = {_script(letter) for letter in word if not letter.isascii()}
    if len(scripts) != 1:
        return False
    if scripts == {"LATIN"}:
        accented = sum(not letter.isascii() for letter in word)
        return accented / len(word) <= MAX_ACCENTED_SHARE
    # A word of another script has no ASCII letter in it.
    return not any(letter.isascii() for letter in word)


def _script(letter: str) -> str:
    name = unicodedata.name(letter, "")
    return name.split(" ", 1)[0]


def _rows(sample: str, delimiter: str, quote: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar=quote)
    return list(reader)


def _decode_head(head: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return str(decoder.decode(head, final=False))

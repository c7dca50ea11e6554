"""Telling a CSV file's encoding, delimiter and quote from its first bytes."""

from __future__ import annotations

import pytest

from adapters.csv.dialect import detect_delimiter, detect_encoding, sniff
from domain.tables.errors import MalformedSource


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b\n1,2\n", ","),
        ("Дата;Сумма;Клиент\n01.02.2022;1234,50;ООО\n02.02.2022;7,25;ИП\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name,note\nBob,"a;b;c"\nAnn,"x;y"\n', ","),
        ("a,b\n1,2\n3\n", ","),
        ("x,y\n1,2,3\n", ","),
        ("0\t\n0\n", ","),
        ("only\n1\n2\n", ","),
        ("a;b;c\n", ";"),
    ],
    ids=[
        "comma",
        "semicolon with decimal commas",
        "tab",
        "pipe",
        "quoted semicolons",
        "a short last row",
        "a long only row",
        "a trailing tab in a one-column header",
        "one column",
        "a header alone",
    ],
)
def test_the_delimiter_is_the_one_that_splits_records_into_the_header_s_fields(
    text: str, delimiter: str
) -> None:
    assert detect_delimiter(text) == (delimiter, '"')


def test_single_quotes_are_the_quote_only_when_they_read_better() -> None:
    assert detect_delimiter("a,b\n'x,y',2\n'z',3\n") == (",", "'")
    assert detect_delimiter("a,b\nO'Brien,2\nD'Arcy,3\n") == (",", '"')


@pytest.mark.parametrize(
    ("payload", "encoding"),
    [
        ("id,имя\n1,Анна\n".encode("utf-8-sig"), "utf-8-sig"),
        ("id\tname\n1\tAnn\n".encode("utf-16"), "utf-16"),
        ("id,name\n1,José\n".encode(), "utf-8"),
        (b"id,name\n1,Ann\n", "utf-8"),
        ("Номер;Товар;Цена\r\n1;Пицца Маргарита;450\r\n2;Кола;90\r\n".encode("cp1251"), "cp1251"),
        ("Місто;Сума\r\nКиїв;5\r\nЛьвів;7\r\n".encode("cp1251"), "cp1251"),
        ("nombre,ciudad\r\nJosé,Málaga\r\nNúñez,Córdoba\r\n".encode("latin-1"), "cp1252"),
        ("note\télève\r\ndéjà vu\t1\r\nforêt\t2\r\n".encode("cp1252"), "cp1252"),
        ("Name;Ort\r\nMüller;München\r\nSchäfer;Köln\r\n".encode("cp1252"), "cp1252"),
    ],
    ids=[
        "UTF-8 with a mark",
        "UTF-16 with a mark",
        "UTF-8",
        "ASCII",
        "Windows-1251 Russian",
        "Windows-1251 Ukrainian (starts like a UTF-8 sequence)",
        "Latin-1 Spanish",
        "Windows-1252 French",
        "Windows-1252 German",
    ],
)
def test_the_encoding_is_told_from_the_first_bytes(payload: bytes, encoding: str) -> None:
    assert detect_encoding(payload, "t.csv")[0] == encoding


def test_utf8_with_a_broken_byte_stays_utf8_for_the_reader_to_report() -> None:
    payload = "a,b\n1,café\n".encode() + b"2,caf\xe9\n"

    assert detect_encoding(payload, "t.csv") == ("utf-8", False)


def test_a_guess_is_told_apart_from_a_certainty() -> None:
    assert sniff("a;b\n1;2\n".encode("utf-8-sig"), "t.csv").guessed is False
    assert sniff("a;b\nJosé;Málaga\n".encode("latin-1"), "t.csv").guessed is True


def test_bytes_no_code_page_reads_are_a_malformed_file() -> None:
    with pytest.raises(MalformedSource, match="no encoding"):
        detect_encoding(bytes(range(128, 256)) * 4, "t.csv")

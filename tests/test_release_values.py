"""Published numbers and undeclared text encodings, as the release parsers meet them."""

from __future__ import annotations

import codecs
from decimal import Decimal

import duckdb
import pytest

from ingestion.encoding import TextEncodingError, decode_text
from ingestion.sql import text_sql
from ingestion.values import NumberError, PublishedNumber, number_text, parse_published_number

MARKERS = ["", "   ", "…", "……", "...", "....", "⋯⋯", "．．．", "—", "——", "―", "-", "--", "－", "－－", "–", "\u2212", " … "]
NOT_MARKERS = ["0", "-1", "a.b", "abc", ".", "..", "—1", "x-", "n/a"]


@pytest.mark.parametrize("marker", [*MARKERS, "NaN", "nan", None])
def test_missing_markers_mean_no_figure(marker):
    assert parse_published_number(marker) is None


def test_submissions_and_registers_take_the_same_missing_markers():
    """One set of markers: the SQL of the submission and register loaders (``text_sql``) reads the same
    expression; only a published figure also takes ``NaN`` (SDMX's empty ``OBS_VALUE``)."""
    values = ", ".join(f"('{m}')" for m in MARKERS + NOT_MARKERS + ["NaN"])
    cells = dict(duckdb.sql(f"select cell, {text_sql('cell')} from (values {values}) v(cell)").fetchall())
    assert [m for m in MARKERS if cells[m] is not None] == []
    assert {m: cells[m] for m in NOT_MARKERS + ["NaN"]} == {m: m for m in NOT_MARKERS + ["NaN"]}
    for text in NOT_MARKERS[:2]:
        assert parse_published_number(text) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2326.6注1", PublishedNumber(Decimal("2326.6"), 1, "注1")),
        ("2326.6注", PublishedNumber(Decimal("2326.6"), 1, "注")),
        ("2326.6*", PublishedNumber(Decimal("2326.6"), 1, "*")),
        ("2326.6①", PublishedNumber(Decimal("2326.6"), 1, "①")),
        ("25,041.04注1", PublishedNumber(Decimal("25041.04"), 2, "注1")),
        ("1,015,986", PublishedNumber(Decimal("1015986"), 0)),
        ("2.40", PublishedNumber(Decimal("2.40"), 2)),
        (" -3.5 ", PublishedNumber(Decimal("-3.5"), 1)),
        ("\u22123.5", PublishedNumber(Decimal("-3.5"), 1)),  # typographic minus of a typeset bulletin
        ("－3.5*", PublishedNumber(Decimal("-3.5"), 1, "*")),
        ("2326.6\u00b9", PublishedNumber(Decimal("2326.6"), 1, "\u00b9")),  # superscript 1, not a digit 1
        ("１２．５", PublishedNumber(Decimal("12.5"), 1)),
        (526.8, PublishedNumber(Decimal("526.8"), 1)),
        (2504, PublishedNumber(Decimal("2504"), 0)),
        (Decimal("0.50"), PublishedNumber(Decimal("0.50"), 2)),
    ],
)
def test_numbers_keep_value_decimals_and_footnote(raw, expected):
    assert parse_published_number(raw) == expected


def test_footnote_on_a_missing_marker_is_still_no_figure():
    assert parse_published_number("…注1") is None


@pytest.mark.parametrize("raw", ["12..3", "1,01,5986", "2.5%", "abc", "注", "*", "1.2.3", "12 345x", True])
def test_unparseable_numbers_raise_with_the_text(raw):
    with pytest.raises(NumberError, match="unparseable number"):
        parse_published_number(raw)


def test_unparseable_number_message_quotes_the_cell():
    with pytest.raises(NumberError) as error:
        parse_published_number("12..3")
    assert str(error.value) == "unparseable number '12..3'"


def test_number_text_rounds_like_a_spreadsheet_and_never_uses_exponents():
    assert number_text(2.4, 2) == "2.40"
    assert number_text(2.345, 2) == "2.35"
    assert number_text(-2.345, 2) == "-2.35"
    assert number_text(1e-05) == "0.00001"
    assert number_text(526.8) == "526.8"


def test_decode_prefers_utf8_bom_then_utf8_then_gb18030():
    text = "数据库：分省年度数据"
    assert decode_text(codecs.BOM_UTF8 + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode_text(text.encode("utf-8")) == (text, "utf-8")
    assert decode_text(text.encode("gb18030")) == (text, "gb18030")


def test_utf8_is_never_read_as_gb18030():
    # These UTF-8 bytes are also valid GB18030 (as mojibake): UTF-8 must win.
    data = "数据库：分省年度数据".encode("utf-8")
    assert data.decode("gb18030") == "鏁版嵁搴擄細鍒嗙渷骞村害鏁版嵁"
    assert decode_text(data) == ("数据库：分省年度数据", "utf-8")


def test_undecodable_bytes_raise_a_clear_error():
    with pytest.raises(TextEncodingError, match=r"neither UTF-8 nor GB18030 \(byte 0 is not UTF-8\)"):
        decode_text(b"\xff\xfe\xfd\x81\x30")
    with pytest.raises(TextEncodingError, match="contains NUL bytes"):
        decode_text("地区".encode("utf-16-le") + b"\x00\x00")
    with pytest.raises(TextEncodingError, match="byte order mark but byte 4 is not UTF-8"):
        decode_text(codecs.BOM_UTF8 + b"a\xff")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("重庆市,603.8\n四川省".encode("gb18030")[:-1], "truncated: the file ends inside a GB18030 character (byte 17 of 18)"),
        ("重庆市,603.8\n四川省".encode("utf-8")[:-1], "truncated: the file ends inside a UTF-8 character (byte 22 of 24)"),
        (codecs.BOM_UTF8 + "重庆市".encode("utf-8")[:-2], "truncated: the file ends inside a UTF-8 character (byte 9 of 10)"),
    ],
)
def test_text_cut_inside_a_character_is_reported_as_truncated(data, message):
    with pytest.raises(TextEncodingError) as error:
        decode_text(data)
    assert str(error.value) == message

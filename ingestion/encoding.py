"""Decoding of text files whose encoding nobody declared.

Statistical portals export GB18030/GBK; files re-saved elsewhere come back as UTF-8, with or without a
byte order mark. UTF-8 is tried before GB18030 because almost any UTF-8 byte string also decodes as
GB18030 into mojibake, while GB18030 text is rarely valid UTF-8. charset-normalizer is consulted only to
word the error when neither fits; its guess is never used to decode.
"""

from __future__ import annotations

import codecs

import charset_normalizer

#: Tried in this order; the first strict decode that succeeds wins.
_CANDIDATES = ("utf-8", "gb18030")
#: How the codecs word a valid start of a multi-byte character that the data ends before completing.
_CUT_SHORT = ("unexpected end of data", "incomplete multibyte sequence")


class TextEncodingError(ValueError):
    """Bytes that are neither UTF-8 nor GB18030 text."""


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file; returns ``(text, encoding)`` with encoding ``utf-8-sig``, ``utf-8`` or ``gb18030``.

    Raises :class:`TextEncodingError` naming the byte offset of the failure (and charset-normalizer's guess,
    when it has one) if the bytes are binary or in another encoding, or saying the file is truncated when it
    is valid text cut short inside a multi-byte character.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            if _cut_inside_character(data[len(codecs.BOM_UTF8) :], "utf-8", error):
                raise TextEncodingError(_truncated(data, "utf-8", error.start + len(codecs.BOM_UTF8))) from None
            raise TextEncodingError(
                f"starts with a UTF-8 byte order mark but byte {error.start + len(codecs.BOM_UTF8)} is not UTF-8"
            ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TextEncodingError(_describe_failure(data, f"contains NUL bytes (first at byte {nul})"))
    failures: dict[str, UnicodeDecodeError] = {}
    for encoding in _CANDIDATES:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            failures[encoding] = error
    for encoding, error in failures.items():
        if _cut_inside_character(data, encoding, error):
            raise TextEncodingError(_truncated(data, encoding, error.start))
    raise TextEncodingError(
        _describe_failure(data, f"is neither UTF-8 nor GB18030 (byte {failures['utf-8'].start} is not UTF-8)")
    )


def _truncated(data: bytes, encoding: str, start: int) -> str:
    return f"truncated: the file ends inside a {encoding.upper()} character (byte {start} of {len(data)})"


def _cut_inside_character(data: bytes, encoding: str, error: UnicodeDecodeError) -> bool:
    """Whether ``data`` is valid ``encoding`` text cut short in the middle of its last character."""
    if error.reason not in _CUT_SHORT or error.end != len(data):
        return False
    try:
        data[: error.start].decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _describe_failure(data: bytes, problem: str) -> str:
    guess = charset_normalizer.from_bytes(data).best()
    hint = f"; it looks like {guess.encoding}" if guess is not None else ""
    return f"not a text file in a supported encoding: it {problem}{hint}; re-save it as UTF-8 or GB18030"

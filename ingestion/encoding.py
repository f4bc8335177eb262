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


class TextEncodingError(ValueError):
    """Bytes that are neither UTF-8 nor GB18030 text."""


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file; returns ``(text, encoding)`` with encoding ``utf-8-sig``, ``utf-8`` or ``gb18030``.

    Raises :class:`TextEncodingError` naming the byte offset of the failure (and charset-normalizer's guess,
    when it has one) if the bytes are binary or in another encoding.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise TextEncodingError(
                f"starts with a UTF-8 byte order mark but byte {error.start + len(codecs.BOM_UTF8)} is not UTF-8"
            ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TextEncodingError(_describe_failure(data, f"contains NUL bytes (first at byte {nul})"))
    first_failure: UnicodeDecodeError | None = None
    for encoding in _CANDIDATES:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            first_failure = first_failure or error
    assert first_failure is not None
    raise TextEncodingError(
        _describe_failure(data, f"is neither UTF-8 nor GB18030 (byte {first_failure.start} is not UTF-8)")
    )


def _describe_failure(data: bytes, problem: str) -> str:
    guess = charset_normalizer.from_bytes(data).best()
    hint = f"; it looks like {guess.encoding}" if guess is not None else ""
    return f"not a text file in a supported encoding: it {problem}{hint}; re-save it as UTF-8 or GB18030"

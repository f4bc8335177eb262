"""The Unified Social Credit Code check (GB 32100-2015) as DuckDB SQL, shared by every loader of holders.

It follows ``stdnum.cn.uscc`` exactly (the reference implementation, cross-checked in
``tests/test_enterprise_uscc.py``): after removing spaces and hyphens and upper-casing, 18 characters, the
first eight digits, the rest from the 31-character alphabet without I, O, Z, S and V, and the last one the
check character of the first seventeen (weights 3^i mod 31). Loaders run it on the *distinct* codes of a
file, not on every row.
"""

from __future__ import annotations

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
USCC_PATTERN = "[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}"


def uscc_compact_sql(text: str) -> str:
    """stdnum's ``compact``: spaces and hyphens removed, upper case."""
    return f"upper(regexp_replace({text}, '[ -]', '', 'g'))"


def uscc_check_character_sql(code: str) -> str:
    """The check character of the first 17 characters of ``code`` (a compact, well-formed code)."""
    terms = " + ".join(
        f"(instr('{USCC_ALPHABET}', substr({code}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS)
    )
    return f"substr('{USCC_ALPHABET}', ((31 - ({terms}) % 31) % 31) + 1, 1)"


def uscc_problem_sql(code: str) -> str:
    """NULL when ``code`` (compact, not null) is a valid USCC, else the ``invalid_uscc`` reason."""
    check = uscc_check_character_sql(code)
    return f"""case
        when length({code}) <> 18
            then 'invalid_uscc: ' || {code} || ' has ' || length({code}) || ' characters, expected 18 (GB 32100-2015)'
        when not regexp_full_match({code}, '{USCC_PATTERN}')
            then 'invalid_uscc: ' || {code} || ' has a character outside the GB 32100-2015 alphabet '
                 || '(8 digits, then 0-9 and A-Z without I, O, S, V, Z)'
        when right({code}, 1) <> {check}
            then 'invalid_uscc: ' || {code} || ' has check character ' || right({code}, 1) || ', expected '
                 || {check} || ' (GB 32100-2015)'
    end"""

"""The set-based USCC check (DuckDB SQL) agrees with python-stdnum, the reference implementation of
GB 32100-2015, on thousands of valid and corrupted codes."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pytest
from stdnum.cn import uscc as stdnum_uscc

from ingestion.enterprise.validation import USCC_ALPHABET, uscc_compact_sql, uscc_problem_sql
from tools.synthetic_enterprises import uscc_codes

_OTHER_CHARACTERS = "IOSVZ" + "abcdefghjk" + "-  #"


def _valid_codes(count: int, rng: random.Random) -> list[str]:
    districts = np.array([rng.choice(["500112", "500105", "110101", "440305", "000000"]) for _ in range(count)])
    numbers = np.array([rng.randrange(31**9) for _ in range(count)], dtype=np.int64)
    codes = [str(c) for c in uscc_codes(districts, numbers)]
    # Registration authority and entity type digits other than "91", check character recomputed.
    return codes + [_with_check(f"{rng.randrange(10)}{rng.randrange(10)}{c[2:17]}") for c in codes[: count // 4]]


def _with_check(first17: str) -> str:
    return first17 + stdnum_uscc.calc_check_digit(first17)


def _corrupt(code: str, rng: random.Random) -> str:
    position = rng.randrange(18)
    kind = rng.randrange(7)
    if kind == 0:  # another character of the alphabet somewhere
        return code[:position] + rng.choice(USCC_ALPHABET.replace(code[position], "")) + code[position + 1 :]
    if kind == 1:  # a character outside the alphabet
        return code[:position] + rng.choice(_OTHER_CHARACTERS) + code[position + 1 :]
    if kind == 2:  # two neighbours swapped
        position = min(position, 16)
        return code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    if kind == 3:  # too short or too long
        return code[: rng.randrange(19)] if rng.random() < 0.5 else code + rng.choice(USCC_ALPHABET)
    if kind == 4:  # lower case, spaces and hyphens: compacted, still valid
        return " " + code[:6].lower() + "-" + code[6:12] + " " + code[12:] + " "
    if kind == 5:  # a letter among the first eight
        return code[:position % 8] + rng.choice("ABCDEFGH") + code[position % 8 + 1 :]
    return code  # unchanged


def _duckdb_valid(codes: list[str]) -> list[bool]:
    con = duckdb.connect()
    con.execute("create table codes (i integer, code varchar)")
    con.executemany("insert into codes values (?, ?)", list(enumerate(codes)))
    compact = uscc_compact_sql("code")
    rows = con.execute(f"select i, ({uscc_problem_sql(compact)}) is null from codes order by i").fetchall()
    return [valid for _, valid in rows]


def test_vectorized_check_agrees_with_stdnum_on_valid_and_corrupted_codes():
    rng = random.Random(20151001)
    valid = _valid_codes(2000, rng)
    codes = valid + [_corrupt(code, rng) for code in valid for _ in range(2)]
    expected = [stdnum_uscc.is_valid(code) for code in codes]
    assert all(expected[: len(valid)])
    assert 0.2 < sum(expected[len(valid) :]) / (2 * len(valid)) < 0.6  # a fair mix of valid and invalid
    disagreements = [(code, want) for code, want, got in zip(codes, expected, _duckdb_valid(codes), strict=True) if want != got]
    assert disagreements == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91110000600037341L", None),  # stdnum's own example
        ("91500107A6FKWKT0FF", None),
        ("91110000600037341M", "invalid_uscc: 91110000600037341M has check character M, expected L (GB 32100-2015)"),
        ("9111000060003734", "invalid_uscc: 9111000060003734 has 16 characters, expected 18 (GB 32100-2015)"),
        (
            "A1110000600037341L",
            "invalid_uscc: A1110000600037341L has a character outside the GB 32100-2015 alphabet "
            "(8 digits, then 0-9 and A-Z without I, O, S, V, Z)",
        ),
    ],
)
def test_reason_names_the_code_and_what_is_wrong(code: str, reason: str | None):
    con = duckdb.connect()
    (problem,) = con.execute(f"select {uscc_problem_sql('c')} from (select ? as c)", [code]).fetchone()
    assert problem == reason

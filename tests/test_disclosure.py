"""Statistical disclosure control (serving/disclosure.py): the primary rules, and secondary suppression
checked by an attacker who combines published cells, on hand-made and on random tables."""

from __future__ import annotations

import random

import pytest

from serving.disclosure import (
    ALL,
    PUBLISHED_TOTALS,
    Concentration,
    DisclosureRules,
    decide,
    primary_reasons,
)

RULES = DisclosureRules(min_enterprises=3, dominance_n=2, dominance_k=85.0, p_percent=10.0)
MEASURE = "rd_expenditure_10k_yuan"


def test_a_cell_of_fewer_enterprises_than_the_threshold_is_sensitive():
    assert primary_reasons(Concentration(2, 100.0, 50.0, 50.0), RULES)[0].startswith("threshold: 2 < 3")
    assert primary_reasons(Concentration(3, 90.0, 30.0, 30.0), RULES) == []


def test_a_cell_whose_largest_two_hold_more_than_k_percent_is_sensitive():
    assert any(r.startswith("dominance") for r in primary_reasons(Concentration(5, 100.0, 80.0, 10.0), RULES))
    assert primary_reasons(Concentration(5, 100.0, 40.0, 40.0), RULES) == []  # 80 % <= 85 %


def test_the_p_percent_rule_protects_the_largest_against_the_second():
    # the others hold 6, less than 10 % of the largest (70): the second largest could estimate it closely
    reasons = primary_reasons(Concentration(4, 100.0, 70.0, 24.0), DisclosureRules(3, 2, 99.0, 10.0))
    assert [r.split(":")[0] for r in reasons] == ["p%"]


def table(values: dict[tuple[str, str], float], contributors: dict[tuple[str, str], tuple[int, float, float]]):
    """Decision inputs for one measure: cell totals and (contributors, largest, second largest) per cell."""
    cells = {cell: {m: (v if m == MEASURE else None) for m in PUBLISHED_TOTALS} for cell, v in values.items()}
    concentration = [
        (g, p, MEASURE, n, values[(g, p)], largest, second) for (g, p), (n, largest, second) in contributors.items()
    ]
    enterprises = {cell: n for cell, (n, _, _) in contributors.items()}
    return concentration, cells, enterprises


def with_all(groups: dict[str, dict[str, float]]) -> dict[tuple[str, str], float]:
    """Cells of groups per period plus the ALL total of each period."""
    values = {(g, p): v for g, periods in groups.items() for p, v in periods.items()}
    for period in {p for periods in groups.values() for p in periods}:
        values[(ALL, period)] = sum(v for (g, p), v in list(values.items()) if p == period and g != ALL)
    return values


def published(decisions, values) -> dict[tuple[str, str], float | None]:
    return {cell: (None if MEASURE in decisions[cell].suppressed else v) for cell, v in values.items()}


def attacker(public: dict[tuple[str, str], float | None], truth: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """Every value a reader recovers by differences: ALL minus the other groups of a period, a year minus
    its other quarters (where the year is the sum of its quarters, as a reader of a consistent table would
    see), repeated until nothing new comes out."""
    known = {c: v for c, v in public.items() if v is not None}
    periods = {p for _, p in public}
    groups = {g for g, _ in public}
    equations = [((ALL, p), [(g, p) for g in groups if g != ALL and (g, p) in public]) for p in periods]
    for g in groups:
        for year in {p[:4] for p in periods}:
            quarters = [(g, f"{year}Q{q}") for q in range(1, 5) if (g, f"{year}Q{q}") in public]
            if (g, year) in public and len(quarters) == 4 and truth[(g, year)] == sum(truth[q] for q in quarters):
                equations.append(((g, year), quarters))
    recovered: dict[tuple[str, str], float] = {}
    changed = True
    while changed:
        changed = False
        for total, parts in equations:
            cells = [total, *parts]
            unknown = [c for c in cells if c not in known]
            if len(unknown) != 1:
                continue
            (cell,) = unknown
            known_parts = sum(known[c] for c in parts if c != cell)
            known[cell] = known_parts if cell == total else known[total] - known_parts
            recovered[cell] = known[cell]
            changed = True
    return recovered


def test_one_sensitive_group_is_protected_by_a_second_suppression_in_its_period():
    values = with_all({"A": {"2024": 10.0}, "B": {"2024": 500.0}, "C": {"2024": 300.0}})
    contributors = {cell: (10, v / 5, v / 5) for cell, v in values.items()} | {("A", "2024"): (1, 10.0, 0.0)}
    decisions = decide(*table(values, contributors), RULES)
    suppressed = {cell for cell, d in decisions.items() if MEASURE in d.suppressed}
    assert ("A", "2024") in suppressed and len(suppressed) == 2
    assert decisions[("A", "2024")].suppressed[MEASURE].startswith("threshold")
    assert attacker(published(decisions, values), values) == {}
    assert "rd_expenditure_10k_yuan" in decisions[("A", "2024")].withheld
    assert "rd_intensity_pct" in decisions[("A", "2024")].withheld  # a ratio of a suppressed amount


def test_a_partner_too_small_to_hide_a_cell_is_not_enough():
    # B (2) cannot hide A (1000): A + B = 1002 would put A within 0.2 %; C must go too
    values = with_all({"A": {"2024": 1000.0}, "B": {"2024": 2.0}, "C": {"2024": 400.0}, "D": {"2024": 800.0}})
    contributors = {cell: (10, v / 5, v / 5) for cell, v in values.items()} | {("A", "2024"): (2, 600.0, 400.0)}
    decisions = decide(*table(values, contributors), RULES)
    suppressed = {cell for cell, d in decisions.items() if MEASURE in d.suppressed}
    assert ("B", "2024") not in suppressed  # the smallest cell large enough is chosen instead
    assert ("C", "2024") in suppressed and len(suppressed) == 2


def test_a_year_and_its_quarters_protect_each_other():
    quarters = {f"2024Q{q}": 100.0 * q for q in range(1, 5)}
    groups = {g: {**quarters, "2024": sum(quarters.values())} for g in ("A", "B", "C")}
    values = with_all(groups)
    contributors = {cell: (10, v / 5, v / 5) for cell, v in values.items()} | {("A", "2024Q2"): (1, 200.0, 0.0)}
    decisions = decide(*table(values, contributors), RULES)
    assert attacker(published(decisions, values), values) == {}
    suppressed = {cell for cell, d in decisions.items() if MEASURE in d.suppressed}
    assert len(suppressed) >= 4  # a second quarter of A, and the same two quarters of another group


def test_growth_is_withheld_when_the_year_before_is_suppressed():
    values = with_all({g: {"2023": 100.0, "2024": 110.0} for g in ("A", "B", "C")})
    contributors = {cell: (10, 20.0, 20.0) for cell in values} | {("A", "2023"): (2, 60.0, 40.0)}
    decisions = decide(*table(values, contributors), RULES)
    assert "rd_growth_pct" in decisions[("A", "2024")].withheld
    assert "rd_expenditure_10k_yuan" not in decisions[("A", "2024")].withheld


@pytest.mark.parametrize("seed", range(30))
def test_an_attacker_recovers_no_suppressed_cell_of_a_random_table(seed: int):
    rng = random.Random(seed)
    groups = [f"G{i}" for i in range(rng.randint(2, 6))]
    years = ["2023", "2024"]
    cells: dict[str, dict[str, float]] = {}
    for group in groups:
        periods = {}
        for year in years:
            quarters = {f"{year}Q{q}": float(rng.randint(1, 1000)) for q in range(1, 5)}
            periods |= quarters
            if rng.random() < 0.7:
                periods[year] = sum(quarters.values())
        cells[group] = periods
    values = with_all(cells)
    contributors = {}
    for cell, value in values.items():
        n = rng.choice([1, 2, 3, 5, 20]) if cell[0] != ALL else 50
        largest = value * rng.choice([0.3, 0.5, 0.95]) if n > 1 else value
        contributors[cell] = (n, largest, (value - largest) / (n - 1) if n > 1 else 0.0)
    decisions = decide(*table(values, contributors), RULES)
    public = published(decisions, values)
    assert attacker(public, values) == {}
    for cell, (n, largest, second) in contributors.items():
        if public[cell] is not None:
            assert primary_reasons(Concentration(n, values[cell], largest, second), RULES) == []

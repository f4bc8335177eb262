"""Statistical disclosure control of the enterprise aggregates published in the public tier.

The cells are those of ``marts.soe_innovation``: one SOE group (or ``ALL``) in one period, one measure
(R&D expenditure, revenue, industrial output, output of strategic emerging industries, patents). A
suppressed cell is published without a value, and its row is flagged ``c`` ("confidential", the status
statistical offices use) with the names of the columns withheld. A figure computed from a suppressed cell
(a ratio, a growth rate) is withheld with it; the counts of enterprises by kind only when the cell has
fewer enterprises than the threshold. ``enterprises`` itself is always published.

**Primary suppression** tests every cell and measure against ``marts.soe_innovation_concentration``
(the number of contributors and the two largest contributions), with the thresholds of
:class:`DisclosureRules` (settings ``WAREHOUSE_SDC_*``):

- *threshold*: fewer than ``min_enterprises`` enterprises contribute;
- *dominance* (n, k): the largest ``dominance_n`` contributors hold more than ``dominance_k`` % of the total;
- *p %*: the total minus the two largest contributions is less than ``p_percent`` % of the largest, so the
  second largest contributor could estimate the largest to within p %.

**Secondary suppression** makes sure no suppressed cell can be recomputed from what is published. The
relations a reader can use are the *equations* of the table: in every period ``ALL`` is the sum of the
groups; a year is the sum of its quarters and a quarter the sum of its months, for a group whose figures add
up that way (for the measures published as totals; industrial and strategic emerging output appear only in
a share, which does not add up). For every suppressed cell an exact *audit* solves two linear programs (the
smallest and the largest value the cell can take given every published cell, the equations and
non-negative values; scipy's HiGHS solver) and requires the interval of every primary cell to reach at
least ``p_percent`` % either side of its true value (cells suppressed only to protect others need no
protection of their own). While some cell is not protected, the smallest published cell that shares
an equation with it is suppressed too, preferring groups over totals, and the audit runs again.

Why not a packaged solver: τ-ARGUS (``pytauargus``) needs the Windows τ-ARGUS program, ``sdcTable`` is R,
and ``acro`` applies primary rules to research outputs only (no secondary suppression). The primary rules
are the standard formulas; the secondary protection is *verified* by the same audit τ-ARGUS runs, with a
maintained LP solver, so the heuristic that chooses the extra cells can only cost information, never
protection.

``rd_growth_pct`` and ``high_value_invention_patents_added`` compare the enterprises matched a year
earlier; they are published only when the matched enterprises pass the primary rules and the cell a year
earlier is published too (otherwise the growth would reveal the suppressed year's total).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import duckdb

from core import settings
from core.periods import Period, parse_period

#: The amounts and counts of a cell that the primary rules test (columns of ``soe_innovation``).
MAGNITUDES: tuple[str, ...] = (
    "rd_expenditure_10k_yuan",
    "revenue_10k_yuan",
    "industrial_output_10k_yuan",
    "sei_output_10k_yuan",
    "invention_patents_granted",
    "high_value_invention_patents_valid",
)
#: The base of the like-for-like growth figures: only the enterprises matched a year earlier.
MATCHED_BASE = "rd_expenditure_year_before"
#: The published columns of ``soe_innovation`` and the measures each is computed from: withheld when one
#: of them is suppressed in the row's cell.
COLUMN_MEASURES: dict[str, tuple[str, ...]] = {
    "rd_expenditure_10k_yuan": ("rd_expenditure_10k_yuan",),
    "revenue_10k_yuan": ("revenue_10k_yuan",),
    "rd_intensity_pct": ("rd_expenditure_10k_yuan", "revenue_10k_yuan"),
    "rd_growth_pct": ("rd_expenditure_10k_yuan",),
    "invention_patents_granted": ("invention_patents_granted",),
    "high_value_invention_patents_valid": ("high_value_invention_patents_valid",),
    "tech_based_enterprises": (),
    "hightech_enterprises": (),
    "sei_output_share_pct": ("sei_output_10k_yuan", "industrial_output_10k_yuan"),
    "high_value_invention_patents_added": ("high_value_invention_patents_valid",),
}
#: The measures whose cell totals are published as columns, so that cells add up (secondary suppression).
PUBLISHED_TOTALS: tuple[str, ...] = tuple(m for m in MAGNITUDES if m in COLUMN_MEASURES)
#: Like-for-like columns: also withheld when the matched enterprises fail the rules, or when the same
#: period a year earlier is withheld (the growth and that year's figure would give its value).
GROWTH_COLUMNS: tuple[str, ...] = ("rd_growth_pct", "high_value_invention_patents_added")
ALL = "ALL"
CONFIDENTIAL = "c"

Cell = tuple[str, str]  # (group_name, period)


class DisclosureError(RuntimeError):
    """The public tier cannot be made safe (a cell no suppression can protect, or a check that fails)."""


@dataclass(frozen=True)
class DisclosureRules:
    min_enterprises: int = 3
    dominance_n: int = 2
    dominance_k: float = 85.0
    p_percent: float = 10.0

    @classmethod
    def from_settings(cls) -> DisclosureRules:
        t = settings.disclosure_thresholds()
        return cls(int(t["min_enterprises"]), int(t["dominance_n"]), t["dominance_k"], t["p_percent"])

    def describe(self) -> str:
        return (
            f"at least {self.min_enterprises} enterprises; the largest {self.dominance_n} hold at most "
            f"{self.dominance_k:g} % of the total; the rest at least {self.p_percent:g} % of the largest"
        )


@dataclass(frozen=True)
class Concentration:
    contributors: int
    total: float
    largest: float
    second_largest: float


def primary_reasons(c: Concentration, rules: DisclosureRules) -> list[str]:
    """Why a cell's measure is sensitive under ``rules`` (empty when it may be published)."""
    reasons = []
    if c.contributors < rules.min_enterprises:
        reasons.append(f"threshold: {c.contributors} < {rules.min_enterprises} enterprises")
    total = abs(c.total)
    if total > 0 and c.contributors >= 1:
        top = c.largest + (c.second_largest if rules.dominance_n >= 2 else 0.0)
        if top > total * rules.dominance_k / 100:
            reasons.append(f"dominance: largest {rules.dominance_n} hold {100 * top / total:.1f} % > {rules.dominance_k:g} %")
        rest = total - c.largest - c.second_largest
        if c.largest > 0 and rest < c.largest * rules.p_percent / 100:
            reasons.append(f"p%: the others than the largest two hold less than {rules.p_percent:g} % of the largest")
    return reasons


@dataclass(frozen=True)
class Equation:
    """``total`` = sum of ``parts``, for the measures in ``measures``."""

    total: Cell
    parts: tuple[Cell, ...]
    measures: frozenset[str]

    def cells(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


@dataclass
class Decision:
    """What is withheld from one row (group, period) of the public ``soe_innovation``."""

    suppressed: dict[str, str] = field(default_factory=dict)  # measure -> why (primary rule or "secondary")
    withheld: dict[str, str] = field(default_factory=dict)  # published column -> why


def _adds_up(total: float | None, parts: Sequence[float | None]) -> bool:
    if total is None or any(p is None for p in parts):
        return False
    return abs(total - sum(parts)) <= 1e-6 * max(1.0, abs(total))


def table_equations(values: Mapping[Cell, Mapping[str, float | None]]) -> list[Equation]:
    """The relations between published cells a reader can use (see the module docstring)."""
    equations = []
    by_period: dict[str, list[str]] = defaultdict(list)
    for group, period in values:
        if group != ALL:
            by_period[period].append(group)
    for period, groups in by_period.items():
        if (ALL, period) in values:
            parts = tuple((g, period) for g in sorted(groups))
            equations.append(Equation((ALL, period), parts, frozenset(MAGNITUDES)))
    # a year is the sum of its quarters, and of its months; a quarter the sum of its months; where the data say so
    children: dict[tuple[Cell, str], list[Cell]] = defaultdict(list)  # (parent, frequency of the parts) -> parts
    for group, period in values:
        parsed = parse_period(period)
        if parsed.frequency in ("Q", "M"):
            children[((group, str(Period(parsed.year, "A"))), parsed.frequency)].append((group, period))
        if parsed.frequency == "M":
            quarter = Period(parsed.year, "Q", (parsed.number - 1) // 3 + 1)
            children[((group, str(quarter)), "M")].append((group, period))
    for (parent, _), parts in sorted(children.items()):
        if parent not in values:
            continue
        measures = frozenset(
            m for m in MAGNITUDES if _adds_up(values[parent].get(m), [values[p].get(m) for p in parts])
        )
        if measures:
            equations.append(Equation(parent, tuple(sorted(parts)), measures))
    return equations


def _interval(cell: Cell, measure: str, suppressed: set[Cell], equations: Sequence[Equation],
              values: Mapping[Cell, Mapping[str, float | None]]) -> tuple[float, float]:
    """The smallest and largest value of ``cell``'s ``measure`` consistent with what is published."""
    # only the suppressed cells connected to ``cell`` through equations matter
    relevant = [e for e in equations if measure in e.measures]
    unknown, frontier, used = {cell}, [cell], []
    while frontier:
        current = frontier.pop()
        for e in relevant:
            if current in e.cells() and e not in used:
                used.append(e)
                for other in e.cells():
                    if other in suppressed and other not in unknown:
                        unknown.add(other)
                        frontier.append(other)
    if not used:
        return 0.0, float("inf")
    order = sorted(unknown)
    index = {c: i for i, c in enumerate(order)}
    rows, rhs = [], []
    for e in used:
        row = [0.0] * len(order)
        constant = 0.0
        for sign, c in [(-1.0, e.total)] + [(1.0, p) for p in e.parts]:
            if c in index:
                row[index[c]] += sign
            else:
                constant += sign * (values[c].get(measure) or 0.0)
        rows.append(row)
        rhs.append(-constant)
    from scipy.optimize import linprog  # here, not at the top: 0.3 s of every start-up of the pipeline

    bounds = [(0.0, None)] * len(order)  # amounts and counts are never negative
    objective = [0.0] * len(order)
    objective[index[cell]] = 1.0
    low = linprog(objective, A_eq=rows, b_eq=rhs, bounds=bounds, method="highs")
    high = linprog([-x for x in objective], A_eq=rows, b_eq=rhs, bounds=bounds, method="highs")
    lo = low.fun if low.status == 0 else 0.0
    hi = -high.fun if high.status == 0 else float("inf")
    return lo, hi


def unprotected(sensitive: set[Cell], suppressed: set[Cell], measure: str, equations: Sequence[Equation],
                values: Mapping[Cell, Mapping[str, float | None]], p_percent: float) -> list[tuple[Cell, float, float]]:
    """The suppressed cells of ``measure`` a reader could recompute from the published cells (all but
    ``suppressed``), and the ``sensitive`` ones they could narrow to within ``p_percent`` % of their value.
    A cell suppressed only to protect others needs no range of its own, but must not be recomputable."""
    exposed = []
    for cell in sorted(suppressed):
        value = values[cell].get(measure)
        if value is None:
            continue
        lo, hi = _interval(cell, measure, suppressed, equations, values)
        tolerance = 1e-6 * max(1.0, abs(value))
        margin = abs(value) * p_percent / 100 if cell in sensitive else 0.0
        if hi - lo <= tolerance or hi < value + margin - tolerance or lo > value - margin + tolerance:
            exposed.append((cell, lo, hi))
    return exposed


def _partners(cell: Cell, suppressed: set[Cell], equations: Sequence[Equation],
              values: Mapping[Cell, Mapping[str, float | None]], measure: str) -> set[Cell]:
    """Published cells whose suppression can widen ``cell``'s interval: those of its own equations, else
    those of the equations of the suppressed cells it is linked to (the nearest ring that has any)."""
    ring, seen = {cell}, {cell}
    while ring:
        touching = [e for e in equations if any(c in e.cells() for c in ring)]
        published = {
            other for e in touching for other in e.cells()
            if other not in suppressed and values[other].get(measure) is not None
        }
        if published:
            return published
        ring = {other for e in touching for other in e.cells() if other in suppressed} - seen
        seen |= ring
    return set()


def secondary_suppression(primary: set[Cell], measure: str, equations: Sequence[Equation],
                          values: Mapping[Cell, Mapping[str, float | None]], p_percent: float) -> set[Cell]:
    """The cells of ``measure`` to suppress besides ``primary`` so that every suppressed one passes the audit."""
    equations = [e for e in equations if measure in e.measures]
    suppressed = set(primary)
    while exposed := unprotected(set(primary), suppressed, measure, equations, values, p_percent):
        cell = exposed[0][0]
        value = abs(values[cell][measure])
        candidates = _partners(cell, suppressed, equations, values, measure)
        if not candidates:
            raise DisclosureError(
                f"{measure} of {cell[0]} {cell[1]} cannot be protected: every cell it adds up with is suppressed"
            )
        # the smallest cell large enough to hide this one (else the largest), groups before totals
        enough = [c for c in candidates if abs(values[c][measure]) >= value * p_percent / 100]
        size = (lambda c: abs(values[c][measure])) if enough else (lambda c: -abs(values[c][measure]))
        suppressed.add(min(enough or candidates, key=lambda c: (c[0] == ALL, size(c), c)))
    return suppressed - set(primary)


def decide(concentration: Iterable[tuple[str, str, str, int, float | None, float | None, float | None]],
           cells: Mapping[Cell, Mapping[str, float | None]], enterprises: Mapping[Cell, int],
           rules: DisclosureRules) -> dict[Cell, Decision]:
    """What to withhold from every row of the public ``soe_innovation``.

    ``cells`` holds the total of every magnitude per cell, ``enterprises`` the number of enterprises per
    cell, ``concentration`` the rows of ``marts.soe_innovation_concentration``:
    (group_name, period, measure, contributors, total, largest, second_largest).
    """
    decisions = {cell: Decision() for cell in cells}
    matched_fails: dict[Cell, str] = {}
    for group, period, measure, contributors, total, largest, second in concentration:
        cell = (group, period)
        if cell not in decisions:
            continue
        reasons = primary_reasons(Concentration(contributors, total or 0.0, largest or 0.0, second or 0.0), rules)
        if reasons and measure == MATCHED_BASE:
            matched_fails[cell] = "the enterprises matched a year earlier: " + "; ".join(reasons)
        elif reasons:
            decisions[cell].suppressed[measure] = "; ".join(reasons)
    equations = table_equations(cells)
    for measure in PUBLISHED_TOTALS:  # the others are published only inside a ratio, which does not add up
        primary = {cell for cell, d in decisions.items() if measure in d.suppressed}
        for cell in secondary_suppression(primary, measure, equations, cells, rules.p_percent):
            decisions[cell].suppressed[measure] = "secondary: protects a suppressed cell it adds up with"
    for (group, period), decision in decisions.items():
        for column, measures in COLUMN_MEASURES.items():
            why = [f"{m} suppressed" for m in measures if m in decision.suppressed]
            if not measures and enterprises.get((group, period), 0) < rules.min_enterprises:
                why.append(f"fewer than {rules.min_enterprises} enterprises")
            if column in GROWTH_COLUMNS and not why:
                before = decisions.get((group, _same_period_last_year(period)))
                if (group, period) in matched_fails:
                    why.append(matched_fails[(group, period)])
                if before is not None and any(m in before.suppressed for m in measures):
                    why.append(f"{measures[0]} suppressed a year earlier")
            if why:
                decision.withheld[column] = "; ".join(why)
    return decisions


def _same_period_last_year(period: str) -> str:
    parsed = parse_period(period)
    return str(replace(parsed, year=parsed.year - 1))


def decide_in_database(con: duckdb.DuckDBPyConnection, catalog: str, rules: DisclosureRules) -> dict[Cell, Decision]:
    """:func:`decide` for every row of ``marts.soe_innovation`` in the attached database ``catalog``,
    with the cell totals and concentration of ``marts.soe_innovation_concentration``."""
    concentration = con.execute(
        f"select group_name, period, measure, contributors, total, largest, second_largest "
        f"from {catalog}.marts.soe_innovation_concentration"
    ).fetchall()
    rows = con.execute(f"select group_name, period, enterprises from {catalog}.marts.soe_innovation").fetchall()
    cells: dict[Cell, dict[str, float | None]] = {(group, period): dict.fromkeys(MAGNITUDES) for group, period, _ in rows}
    for group, period, measure, _, total, _, _ in concentration:
        if measure in MAGNITUDES and (group, period) in cells:
            cells[(group, period)][measure] = total
    return decide(concentration, cells, {(g, p): n for g, p, n in rows}, rules)


def public_problems(con: duckdb.DuckDBPyConnection, public: str, build: str, rules: DisclosureRules) -> list[str]:
    """What is wrong with the public ``soe_innovation`` in the attached database ``public``, checked against
    the build database ``build``: a value published from a cell that fails a primary rule, or a suppressed
    cell the audit can recompute. The check of the finished file, independent of how it was decided."""
    rows = con.execute(
        f"select group_name, period, {', '.join(COLUMN_MEASURES)} from {public}.marts.soe_innovation"
    ).fetchall()
    published: dict[Cell, set[str]] = {}  # the measures a published value of the row is computed from
    for group, period, *values in rows:
        published[(group, period)] = {
            m for column, value in zip(COLUMN_MEASURES, values, strict=True) if value is not None
            for m in COLUMN_MEASURES[column]
        }
    concentration = con.execute(
        f"select group_name, period, measure, contributors, total, largest, second_largest "
        f"from {build}.marts.soe_innovation_concentration"
    ).fetchall()
    problems = []
    sensitive: dict[str, set[Cell]] = defaultdict(set)
    totals: dict[Cell, dict[str, float | None]] = {cell: dict.fromkeys(MAGNITUDES) for cell in published}
    for group, period, measure, contributors, total, largest, second in concentration:
        cell = (group, period)
        if cell not in published or measure not in MAGNITUDES:
            continue
        totals[cell][measure] = total
        reasons = primary_reasons(Concentration(contributors, total or 0.0, largest or 0.0, second or 0.0), rules)
        if reasons:
            sensitive[measure].add(cell)
        if reasons and measure in published[cell]:
            problems.append(f"soe_innovation {group} {period}: {measure} is published but fails {'; '.join(reasons)}")
    equations = table_equations(totals)
    for measure in PUBLISHED_TOTALS:
        hidden = {cell for cell, measures in published.items() if measure not in measures}
        for (group, period), lo, hi in unprotected(sensitive[measure], hidden, measure, equations, totals, rules.p_percent):
            problems.append(
                f"soe_innovation {group} {period}: the suppressed {measure} can be narrowed to [{lo:g}, {hi:g}] "
                "from the published cells"
            )
    return problems

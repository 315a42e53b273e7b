"""The approval floor's own checks (bench.floors): the limits the app checks, checked by hand too."""

from __future__ import annotations

from bench import floors


class Cursor:
    """Answers the floor's sums with fixed amounts and remembers what was asked."""

    def __init__(self, family_used: int = 0, agency_used: int = 0) -> None:
        self.family_used, self.agency_used, self.asked = family_used, agency_used, []

    def execute(self, statement, parameters):
        self.asked.append(statement)
        self.answer = self.family_used if statement is floors.APPROVED_FOR_FAMILY else self.agency_used
        return self

    def fetchone(self):
        return (self.answer,)


def within(limits, amount, cursor, parts=((7, None),)):
    parts = [(agency, amount if part is None else part) for agency, part in parts]
    return floors._within(cursor, (1, 1, *limits), spend_id=5, lab_id=1, family_id=2, year=2026, amount=amount,
                          parts=parts)


def test_the_limit_per_spend():
    cursor = Cursor()
    assert within((50_000, None, None), 50_000, cursor)
    assert not within((50_000, None, None), 50_001, cursor)
    assert cursor.asked == []  # an unset limit costs no query


def test_the_limit_per_family_and_year_counts_what_was_approved():
    assert within((None, 100_000, None), 40_000, Cursor(family_used=60_000))
    assert not within((None, 100_000, None), 40_001, Cursor(family_used=60_000))


def test_the_limit_per_agency_and_year_per_funding_agency():
    cursor = Cursor(agency_used=90_000)
    assert within((None, None, 100_000), 15_000, cursor, parts=((7, 10_000), (8, 5_000)))
    assert len(cursor.asked) == 2
    assert not within((None, None, 100_000), 15_000, Cursor(agency_used=90_000), parts=((7, 10_001), (8, 4_999)))

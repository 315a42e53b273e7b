"""The approval floor's own checks (bench.floors): the limits the app checks, checked by hand too."""

from __future__ import annotations

import pytest

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


def test_a_slow_report_is_warmed_within_its_budget_and_timed_once(monkeypatch):
    """The large lab's report at the default scale: the warm-up stops at its budget, a slow report is
    timed once, and the answer says so (the figure's note must not claim a steady state it lacks)."""
    from contextlib import contextmanager

    from bench import measure

    clock = [0.0]
    requests = []

    class Answer:
        def get_data(self):
            return b""

    def get_ok(client, path):
        requests.append(path)
        clock[0] += 40.0  # every request takes 40 s
        return Answer()

    @contextmanager
    def statements(app):
        yield [("SELECT 1", None)]

    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(measure, "get_ok", get_ok)
    monkeypatch.setattr(measure, "statements", statements)
    monkeypatch.setattr(measure, "replay", lambda url, seen, skip: 20_000.0)
    cleared = []
    monkeypatch.setattr(measure, "clear_snapshots", lambda url: cleared.append(url))
    result = measure.outcome_vs_floor(None, None, "", "/rapporter", repeats=5, warm=10, warm_budget=100, slow=30)
    assert (result["warm"], result["repeats"]) == (3, 1)
    # three warm-up requests, then one round: computed (kept rows forgotten first) and read again
    assert len(requests) == 5 and len(cleared) == 4 and result["report_ms"] == 40_000.0
    assert result["steady_ms"] == 40_000.0
    clock[0] = 0.0
    fast = measure.outcome_vs_floor(None, None, "", "/rapporter", repeats=5, warm=10)
    assert (fast["warm"], fast["repeats"]) == (10, 5)


def test_a_reading_cut_at_the_deadline_is_a_miss_with_the_readings_that_finished_it(monkeypatch):
    """The large lab's first reading answers 503 at the request's database deadline: the figure is the
    time to the cut, the readings until one answers 200 are counted, the read-back is timed after."""
    from bench import measure

    clock = [0.0]
    answers = iter([(503, 25.0), (503, 25.0), (200, 7.0)] + [(200, 0.2)] * 3)

    class Response:
        def __init__(self, status):
            self.status_code = status

        def get_data(self):
            return b""

    class Client:
        def get(self, path):
            status, seconds = next(answers)
            clock[0] += seconds
            return Response(status)

    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock[0])
    cleared = []
    monkeypatch.setattr(measure, "clear_snapshots", lambda url: cleared.append(url))
    result = measure.cut_reading(Client(), "db", "/rapporter", repeats=3)
    assert cleared == ["db"]  # only before the first reading: the later ones go on from what it kept
    assert (result["first_status"], result["readings"]) == (503, 3)
    assert result["cut_ms"] == 25_000.0 and result["until_ms"] == 57_000.0
    assert abs(result["steady_ms"] - 200.0) < 1e-6


def test_a_reading_that_never_finishes_fails_the_figure(monkeypatch):
    from bench import measure

    class Client:
        def get(self, path):
            class Response:
                status_code = 503

                def get_data(self):
                    return b""
            return Response()

    monkeypatch.setattr(measure, "clear_snapshots", lambda url: None)
    with pytest.raises(RuntimeError, match="answered 503 5 times"):
        measure.cut_reading(Client(), "db", "/rapporter", repeats=3)


def test_a_failed_figure_keeps_the_table_one_line_a_row():
    from bench.measure import Figure
    from bench.report import rows

    row = rows([Figure("peak_rss", "peak RSS", None, "", note="failed: RuntimeError: first\nsecond  line")])[0]
    assert row[1] == "failed: RuntimeError: first second line" and all("\n" not in cell for cell in row)

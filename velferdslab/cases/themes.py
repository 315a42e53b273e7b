"""The seven themes, the four-step scale, and the rule that suggests an overall level."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

UHOLDBAR, UTSATT, STABIL, BAEREKRAFTIG = 1, 2, 3, 4
LEVELS = (UHOLDBAR, UTSATT, STABIL, BAEREKRAFTIG)
LEVEL_CODES = {1: "uholdbar", 2: "utsatt", 3: "stabil", 4: "baerekraftig"}
LEVEL_NAMES = {1: _l("Uholdbar"), 2: _l("Utsatt"), 3: _l("Stabil"), 4: _l("Bærekraftig")}

# The simple scale for a child under 12 rating in their own words (issue 15): three faces, stored as
# levels 1–3 so a child's view sits beside the grown-ups' on the same scale. A child's "bra" is
# *stabil*: whether things last without help (*bærekraftig*) is not asked of a child.
CHILD_SCALE_BELOW_AGE = 12
CHILD_SCALE = {1: _l("Ikke bra"), 2: _l("Sånn passe"), 3: _l("Bra")}
CHILD_FACES = {1: "☹", 2: "😐", 3: "🙂"}
# Two ratings of one theme about the same person (or the household) this many steps apart are
# flagged "Ulike syn".
DISAGREEMENT_STEPS = 2


@dataclass(frozen=True)
class Theme:
    code: str
    name: object
    description: object
    needs_children: bool = False


THEMES = (
    Theme("bolig", _l("Bolig"), _l("Et trygt og stabilt sted å bo.")),
    Theme("arbeid", _l("Arbeid"), _l("Arbeid, aktivitet eller kvalifisering for de voksne.")),
    Theme("skole", _l("Skole"), _l("Barnas og de unges skolegang og utdanning."), needs_children=True),
    Theme("nettverk", _l("Nettverk"), _l("Familie, venner og andre å støtte seg på.")),
    Theme("okonomi", _l("Økonomi"), _l("Inntekt, gjeld og et budsjett som går opp.")),
    Theme("helse", _l("Helse"), _l("Fysisk og psykisk helse, rus.")),
    Theme("oppvekst", _l("Barnas oppvekstsvilkår"), _l("Trygghet, fritid og omsorg for barna."),
          needs_children=True),
)
THEME_BY_CODE = {t.code: t for t in THEMES}
THEME_CODES = tuple(t.code for t in THEMES)


def suggest_overall_level(levels: list[int]) -> int:
    """The documented rule: the median of the applicable theme levels, rounded down, but never
    more than one step above the lowest theme.

    >>> suggest_overall_level([1, 3, 3, 4])
    2
    >>> suggest_overall_level([2, 3, 3])
    3
    """
    if not levels:
        raise ValueError("at least one theme level is needed")
    if any(level not in LEVELS for level in levels):
        raise ValueError("levels are 1–4")
    ordered = sorted(levels)
    n = len(ordered)
    median_floor = ordered[(n - 1) // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) // 2
    return min(median_floor, ordered[0] + 1)

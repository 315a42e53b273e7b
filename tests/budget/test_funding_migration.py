"""Migration e17a0a000001 funds the existing requests by its documented rule (docs/budget.md):
reserved money by its transfers, anything else by the theme's agency or the largest allocation.

The data is made at head, the funding table dropped (downgrade one step) and rebuilt (upgrade):
what the migration derives must be what the requests had."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from tests import factories
from tests.budget.factories import KR, delegate, funded_family, spend, year
from tests.test_migrations import fresh_app  # noqa: F401 - the fixture: a database of its own
from velferdslab.budget import services

pytestmark = pytest.mark.real_commits


def test_the_migration_derives_funding_from_the_transfers_and_the_theme(fresh_app, backend):  # noqa: F811
    from velferdslab.extensions import db

    if backend == "sqlite":
        # Downgrading recreates authority_rule, which SQLite refuses while decisions reference it.
        pytest.skip("the round trip needs a downgrade with decisions on record: PostgreSQL only")

    with fresh_app.app_context():
        upgrade()
        lab = factories.lab()
        nav = factories.agency(lab, "NAV", kind="nav")
        bolig = factories.agency(lab, "Bolig", kind="bolig")
        setup = funded_family(lab, allocated=60_000 * KR, agency=nav)
        delegate(lab, bolig, 100_000 * KR)
        services.allocate(
            lab, family_id=setup.family.id, agency_id=bolig.id, year=year(), amount=10_000 * KR, actor=None
        )
        split = spend(
            setup,
            30_000 * KR,
            funding=[{"agency": nav.id, "amount": 25_000 * KR}, {"agency": bolig.id, "amount": 5_000 * KR}],
        )
        services.approve_spend(split.id, setup.lead)
        bolig_draft = spend(setup, 2_000 * KR, submit=False)  # theme bolig: the bolig agency gave money
        arbeid_goal = factories.goal(setup.family, theme="arbeid")
        nav_draft = spend(setup, 3_000 * KR, submit=False, theme="arbeid", goal_id=arbeid_goal.id)
        other = funded_family(lab, allocated=40_000 * KR, agency=nav)
        no_bolig = spend(other, 4_000 * KR, submit=False)  # theme bolig, but only NAV gave: the largest
        db.session.commit()
        ids = (split.id, bolig_draft.id, nav_draft.id, no_bolig.id)
        expected = {
            (split.id, nav.id, 25_000 * KR),
            (split.id, bolig.id, 5_000 * KR),
            (bolig_draft.id, bolig.id, 2_000 * KR),
            (nav_draft.id, nav.id, 3_000 * KR),
            (no_bolig.id, nav.id, 4_000 * KR),
        }

        def funding() -> set[tuple[int, int, int]]:
            rows = db.session.execute(text("SELECT spend_request_id, agency_id, amount FROM spend_funding"))
            return {(s, a, int(n)) for s, a, n in rows if s in ids}

        assert funding() == expected
        db.session.remove()
        downgrade(revision="e13a0a000001")
        upgrade()
        assert funding() == expected

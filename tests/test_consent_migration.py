"""Issue 15's migration: the consents of before become household consents covering every kind of
information, marked as migrated, and nothing else — on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import Boolean, Date, DateTime, Integer, MetaData, SmallInteger, String, select

from tests.test_migrations import fresh_app  # noqa: F401 - the fixture

BEFORE = "e13a0a000001"
FIXED = {"agency": {"kind": "nav"}, "family_member": {"role": "parent", "birth_year": 1980}, "lab": {"consent_age": 15}}


def _insert(connection, table, **values):
    """A row with ``values``, and a plain value in every other NOT NULL column without a default."""
    row = dict(FIXED.get(table.name, {}))
    for column in table.columns:
        if column.primary_key or column.nullable or column.server_default is not None or column.name in row:
            continue
        if isinstance(column.type, Boolean):
            row[column.name] = False
        elif isinstance(column.type, Integer | SmallInteger):
            row[column.name] = 1
        elif isinstance(column.type, DateTime):
            row[column.name] = datetime.now(UTC)
        elif isinstance(column.type, Date):
            row[column.name] = date(2026, 1, 1)
        elif isinstance(column.type, String):
            row[column.name] = f"{table.name}-{column.name}"
    row.update(values)
    return connection.execute(table.insert().values(**row)).inserted_primary_key[0]


@pytest.mark.real_commits
def test_existing_consents_become_migrated_household_consents(fresh_app):  # noqa: F811
    from velferdslab.extensions import db

    with fresh_app.app_context():
        upgrade(revision=BEFORE)
        meta = MetaData()
        meta.reflect(db.engine)
        t = meta.tables
        with db.engine.begin() as connection:
            lab = _insert(connection, t["lab"], slug="lab")
            agency = _insert(connection, t["agency"], lab_id=lab)
            family = _insert(connection, t["family"], lab_id=lab)
            anne = _insert(connection, t["family_member"], family_id=family, first_name="Anne")
            row = {
                "family_id": family,
                "agency_id": agency,
                "purpose": "Samarbeid",
                "given_by_member_id": anne,
                "given_on": date(2026, 1, 1),
            }
            given = _insert(connection, t["consent"], **row)
            withdrawn = _insert(connection, t["consent"], **row, withdrawn_on=date(2026, 2, 1), supersedes_id=given)
        upgrade()
        meta = MetaData()
        meta.reflect(db.engine)
        consent, category = meta.tables["consent"], meta.tables["consent_category"]
        with db.engine.connect() as connection:
            rows = {r.id: r for r in connection.execute(select(consent))}
            kinds = {}
            for consent_id, code in connection.execute(select(category.c.consent_id, category.c.category)):
                kinds.setdefault(consent_id, set()).add(code)
        assert {r.method for r in rows.values()} == {"migrated"}
        assert all(r.subject_member_id is None for r in rows.values())  # household consents
        everything = {
            "bolig",
            "arbeid",
            "skole",
            "nettverk",
            "okonomi",
            "helse",
            "oppvekst",
            "meeting_notes",
            "general",
        }
        assert kinds == {given: everything, withdrawn: everything}
        assert rows[given].withdrawn_by_member_id is None
        assert rows[withdrawn].withdrawn_by_member_id == anne and rows[withdrawn].given_by_member_id == anne

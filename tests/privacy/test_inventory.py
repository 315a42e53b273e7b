"""The personal-data inventory is complete: every table that refers to a family (or to a table
holding family data) is listed, and every text column in it is classified."""

from velferdslab.extensions import db
from velferdslab.privacy.inventory import BY_TABLE, NOT_PERSONAL, text_columns


def _family_tables() -> set[str]:
    """Tables with a family_id column or a foreign key into a family table, to a fixed point."""
    found = {"family"}
    changed = True
    while changed:
        changed = False
        for table in db.metadata.tables.values():
            if table.name in found:
                continue
            refers = "family_id" in table.c or any(fk.column.table.name in found - {"lab"}
                                                   for fk in table.foreign_keys)
            if refers:
                found.add(table.name)
                changed = True
    return found


def test_every_family_table_is_in_the_inventory(app):
    missing = _family_tables() - set(BY_TABLE) - set(NOT_PERSONAL)
    assert missing == set(), "add these tables to privacy.inventory (erase/keep/retained) or NOT_PERSONAL"


def test_every_text_column_is_classified(app):
    unclassified = []
    for name, entry in BY_TABLE.items():
        if name not in db.metadata.tables or entry.delete:  # deleted whole: every column goes
            continue
        classified = set(entry.erase) | set(entry.keep) | set(entry.retained)
        unclassified += [f"{name}.{c}" for c in text_columns(db.metadata.tables[name]) if c not in classified]
    assert unclassified == []


def test_the_walk_can_fail():
    """The inventory check notices a table it has not seen."""
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

    scratch = MetaData()
    Table("family", scratch, Column("id", Integer, primary_key=True))
    note = Table("new_note", scratch, Column("id", Integer, primary_key=True),
                 Column("family_ref", ForeignKey("family.id")), Column("body", String(100)))
    assert any(fk.column.table.name == "family" for fk in note.foreign_keys)
    assert "new_note" not in BY_TABLE and text_columns(note) == ["body"]

from sqlalchemy import select, text

from velferdslab.auth.models import Lab


def test_count_queries_counts_statements(count_queries, db_session, lab):
    with count_queries() as counter:
        db_session.execute(text("SELECT 1"))
        db_session.scalars(select(Lab)).all()
    assert counter.count == 2

"""Issue 13, spend requests: the theme must agree with the goal's (service, API and form), the form
follows the chosen theme, and amounts are read as people write them."""

import re

import pytest

from tests import factories
from tests.cases.formdata import untouched
from velferdslab.budget import services
from velferdslab.budget.models import SpendRequest
from velferdslab.core.errors import ServiceError
from velferdslab.core.money import parse_kroner
from velferdslab.extensions import db


@pytest.mark.parametrize("text, ore", [
    ("18 500", 1_850_000), ("18 500,-", 1_850_000), ("kr 18 500", 1_850_000), ("kr 18 500,-", 1_850_000),
    ("18\u00a0500,-", 1_850_000), ("Kr. 18 500", 1_850_000), ("18 500 kr", 1_850_000), ("18500,50", 1_850_050),
    ("18.500,–", 1_850_000),
])
def test_amounts_as_people_write_them(app, text, ore):
    assert parse_kroner(text) == ore


@pytest.mark.parametrize("text", ["18 50", "kr", "18,-5", "kr 18 500,-,-", "18 500 kr kr", "- kr"])
def test_amounts_that_are_not_amounts_are_refused(app, text):
    with pytest.raises(ValueError):
        parse_kroner(text)


@pytest.fixture
def setup(ctx, lab):
    from tests.budget.factories import KR, funded_family

    return funded_family(lab, allocated=100_000 * KR)


def _count() -> int:
    db.session.expire_all()
    return len(db.session.scalars(db.select(SpendRequest)).all())


def test_a_spend_whose_theme_disagrees_with_the_goal_is_refused(setup):
    from tests.budget.factories import KR, spend_data

    with pytest.raises(ServiceError) as error:  # a bolig goal, an arbeid spend
        services.create_spend(setup.family.id, setup.member, spend_data(setup, 5_000 * KR, theme="arbeid"))
    assert error.value.field == "goal_id" and error.value.status == 422
    assert "Bolig" in error.value.message and "Arbeid" in error.value.message
    assert _count() == 0


def test_a_draft_cannot_be_moved_to_another_theme_than_its_goal(setup):
    from tests.budget.factories import KR, spend

    draft = spend(setup, 5_000 * KR, submit=False)
    with pytest.raises(ServiceError) as error:
        services.update_draft(draft, setup.member, {"theme": "skole"})
    assert error.value.field == "goal_id"
    db.session.expire_all()
    assert db.session.get(SpendRequest, draft.id).theme == "bolig"
    # Theme and goal changed together is fine.
    school = factories.goal(setup.family, theme="skole", text="Fullføre skoleåret")
    services.update_draft(draft, setup.member, {"theme": "skole", "goal_id": school.id})
    assert draft.theme == "skole"


def test_the_api_refuses_the_mismatch_with_422_on_goal_id(setup, login):
    from tests.budget.factories import KR, spend_data

    body = spend_data(setup, 5_000 * KR, theme="arbeid")
    body["wanted_on"] = body["wanted_on"].isoformat()
    response = login(setup.member).post(f"/api/v1/families/{setup.family.id}/spend-requests", json=body)
    assert response.status_code == 422 and "goal_id" in response.get_json()["errors"]
    assert _count() == 0


def _form_url(setup, **query) -> str:
    tail = "".join(f"?{k}={v}" for k, v in query.items())
    return f"/familier/{setup.family.id}/budsjett/ny{tail}"


def test_the_form_refuses_the_mismatch_with_a_message_by_the_goal(setup, login):
    client = login(setup.member)
    data = untouched(client.get(_form_url(setup)).get_data(as_text=True))
    data.update(amount=["kr 18 500,-"], payee=["Utleier AS"], purpose=["Depositum"], theme=["arbeid"],
                goal_id=[str(setup.goal.id)], expected_effect=["Stabil bolig"], action=["submit"])
    response = client.post(_form_url(setup), data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="goal_id-error"' in body and "Velg et mål i samme tema" in body
    assert _count() == 0
    data["theme"] = ["bolig"]
    assert client.post(_form_url(setup), data=data).status_code == 302
    [created] = db.session.scalars(db.select(SpendRequest)).all()
    assert created.amount == 1_850_000 and created.theme == "bolig"


def test_the_form_follows_the_theme_level_now_and_one_step_up(setup, login):
    factories.assessment(setup.family, {"bolig": 2, "arbeid": 4})
    client = login(setup.member)
    html = client.get(_form_url(setup, tema="bolig")).get_data(as_text=True)
    page = untouched(html)
    assert page["theme"] == ["bolig"] and page["level_from"] == ["2"] and page["level_to"] == ["3"]
    goal_select = html[html.index('id="goal_id"'):]  # the funding agency list has options too (issue 17)
    option = re.search(rf'<option[^>]*value="{setup.goal.id}"[^>]*>', goal_select).group(0)
    assert 'data-theme="bolig"' in option
    assert "selected" in option  # the theme's only open goal is picked (issue 13), server-side too
    assert "data-levels=" in html and "&#34;arbeid&#34;: 4" in html
    page = untouched(client.get(_form_url(setup, tema="arbeid")).get_data(as_text=True))
    assert page["level_from"] == ["4"] and page["level_to"] == ["4"]  # the top step stays the top
    # No theme asked for: the theme of the family's first open goal.
    assert untouched(client.get(_form_url(setup)).get_data(as_text=True))["theme"] == ["bolig"]

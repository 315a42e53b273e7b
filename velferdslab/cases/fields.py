"""Field shorthands the sub-packages' marshmallow schemas and WTForms forms share.

Schemas: unknown fields are rejected (marshmallow's RAISE): a body with ``team_id``, ``family_id``
or ``is_current`` gets 422 and changes nothing. Input schemas check the shape (types, known codes,
the 1–4 scale); the rules that need the database (an applicable theme, an owner on the team, a date
after the enrolment began) are the services', which answer 422 with the same ``{field: [message]}``
body.

Forms carry Norwegian labels. The rules live in the services; forms only parse what a person typed
(a date, a number, a choice) and name the fields the services' messages attach to.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from wtforms.validators import DataRequired, Optional

from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.forms import DateField

LEVEL = validate.Range(
    min=1, max=4, error=_l("Nivået må være 1 (uholdbar), 2 (utsatt), 3 (stabil) eller 4 (bærekraftig)."))
THEME = validate.OneOf(THEME_CODES, error=_l("Ukjent tema."))


def _one_of(values, message=_l("Ugyldig verdi.")):
    return validate.OneOf(values, error=message)


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


REQUIRED = _l("Feltet må fylles ut.")


def _date(label, required: bool = False, **kw):
    return DateField(label, validators=[DataRequired(REQUIRED) if required else Optional()], **kw)

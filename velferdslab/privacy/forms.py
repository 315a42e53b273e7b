"""Forms for restriction and erasure, with Norwegian messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import DataRequired, Optional


class EraseForm(FlaskForm):
    no_duty_to_keep = BooleanField(_l("Laben har ikke plikt til å oppbevare opplysningene (arkiv, regnskap, "
                                      "pågående sak)"))
    confirm_family_id = IntegerField(_l("Skriv familienummeret for å bekrefte"),
                                     validators=[DataRequired(_l("Skriv familienummeret for å bekrefte.")), Optional()])

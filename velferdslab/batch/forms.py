from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField


class QuarterForm(FlaskForm):
    quarter = SelectField(_l("Kvartal"))
    language = SelectField(_l("Språk i rapportene"), default="nb")

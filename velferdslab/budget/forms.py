"""Forms for the budget pages, with Norwegian labels. Amounts are typed as kroner ("18 500",
"18 500,50") and parsed with ``core.money.parse_kroner`` into øre; the rules are in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from velferdslab.budget.models import SPEND_CATEGORIES, ApproverRole, Route, SpendCategory, SpendStatus
from velferdslab.cases.themes import LEVEL_NAMES, THEMES
from velferdslab.core.forms import DateField, choices
from velferdslab.core.money import parse_kroner

REQUIRED = _l("Feltet må fylles ut.")

CATEGORY_LABELS = SpendCategory.lazy_labels()
STATUS_LABELS = SpendStatus.lazy_labels()
ROUTE_LABELS = Route.lazy_labels()
APPROVER_ROLE_LABELS = ApproverRole.lazy_labels()
LEVEL_CHOICES = [(str(k), v) for k, v in LEVEL_NAMES.items()]
# The expected change within 6 months (predicted versus actual, issue 14); blank: not stated.
EXPECTED_CHANGE_CHOICES = [("", _l("– ikke angitt –")), ("0", _l("Holde nivået")), ("1", _l("Opp 1 nivå")),
                           ("2", _l("Opp 2 nivåer")), ("3", _l("Opp 3 nivåer"))]


class KronerField(StringField):
    """Kroner as a person types them; ``ore`` holds the parsed whole øre (or None)."""

    ore: int | None = None

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.ore = None

    def pre_validate(self, form):
        if not (self.data or "").strip():
            return
        assert self.data is not None  # a blank field (None too) returned above
        try:
            self.ore = parse_kroner(self.data)
        except ValueError as error:
            self.ore = None
            raise ValidationError(str(error)) from None


def _kroner(label, required: bool = True, **kwargs) -> KronerField:
    validators = [DataRequired(REQUIRED)] if required else [Optional()]
    return KronerField(label, validators=validators + [Length(max=30)],
                       render_kw={"inputmode": "decimal", "autocomplete": "off"}, **kwargs)


SPLIT = "split"  # the funding choice that splits the amount over the agencies' fields


class FundingPartForm(Form):
    """One agency's part of a split funding (the label, with what is left, comes from the page)."""

    agency_id = HiddenField()
    amount = _kroner(_l("Beløp i kroner"), required=False)


def _agency_id(value: str | None) -> int | str | None:
    """An agency id as typed in the form: a number, or the text as it came (the service refuses it)."""
    return int(value) if value and value.isdigit() else value


class SpendForm(FlaskForm):
    amount = _kroner(_l("Beløp i kroner"), description=_l("For eksempel 18 500 eller 18 500,50."))
    funding_agency = SelectField(_l("Hvem betaler"), validate_choice=False,
                                 description=_l("Etaten som har delegert pengene. Forslaget følger temaet og "
                                                "familiens tildelinger."))
    funding_parts = FieldList(FormField(FundingPartForm), min_entries=0, max_entries=20)
    payee = StringField(_l("Mottaker"), validators=[DataRequired(REQUIRED), Length(max=200)],
                        description=_l("Hvem pengene skal betales til, for eksempel utleier eller kursarrangør."))
    purpose = TextAreaField(_l("Hva pengene skal brukes til"), validators=[DataRequired(REQUIRED), Length(max=1000)])
    category = SelectField(_l("Kategori"), choices=choices((c, CATEGORY_LABELS[c]) for c in SPEND_CATEGORIES))
    theme = SelectField(_l("Tema"), choices=choices((t.code, t.name) for t in THEMES))
    goal_id = SelectField(_l("Målet utgiften skal hjelpe familien mot"), coerce=int,
                          validators=[DataRequired(_l("Velg et av familiens mål."))])
    expected_effect = TextAreaField(_l("Forventet effekt"), validators=[DataRequired(REQUIRED), Length(max=1000)],
                                    description=_l("Hvilken endring skal utgiften gi for familien?"))
    level_from = SelectField(_l("Nivå i temaet nå"), choices=choices([("", _l("– ikke vurdert –"))] + LEVEL_CHOICES),
                             validators=[Optional()])
    level_to = SelectField(_l("Nivå dere håper på"), choices=choices(LEVEL_CHOICES))
    expected_level_change = SelectField(
        _l("Forventet endring innen 6 måneder"), choices=choices(EXPECTED_CHANGE_CHOICES), validators=[Optional()],
        description=_l("Hvor mange nivåer i temaet utgiften skal løfte familien innen 6 måneder etter utbetaling. "
                       "Resultatrapporten sammenligner det med teamets vurderinger etterpå."))
    wanted_on = DateField(_l("Ønsket dato"), validators=[DataRequired(REQUIRED)])

    def funding_for_service(self) -> list[dict] | None:
        """The funding as the service takes it: the one agency chosen for the whole amount, or the
        split typed into the agencies' fields (blank fields left out); None when no choice was
        sent (the service then proposes, or keeps a draft's funding)."""
        agency = self.funding_agency.data or ""
        if not agency:
            return None
        if agency != SPLIT:
            return [{"agency": _agency_id(agency), "amount": self.amount.ore}]
        return [{"agency": _agency_id(e.form.agency_id.data), "amount": e.form.amount.ore}
                for e in self.funding_parts if e.form.amount.ore is not None]

    def data_for_service(self) -> dict:
        return {"amount": self.amount.ore, "funding": self.funding_for_service(),
                "payee": self.payee.data, "purpose": self.purpose.data,
                "category": self.category.data, "theme": self.theme.data, "goal_id": self.goal_id.data,
                "expected_effect": self.expected_effect.data,
                "level_from": int(self.level_from.data) if self.level_from.data else None,
                "level_to": int(self.level_to.data),
                "expected_level_change": int(self.expected_level_change.data)
                if self.expected_level_change.data else None,
                "wanted_on": self.wanted_on.data}


# A fresh key per rendered form: a double click or a resent form acts once. Its label names the
# decision, since a refusal (no money left, over the authority) is reported on this field.
DECISION = _l("Beslutningen")


class ApproveForm(FlaskForm):
    idempotency_key = HiddenField(DECISION)


class ReasonForm(FlaskForm):
    idempotency_key = HiddenField(DECISION)
    reason = TextAreaField(_l("Begrunnelse"), validators=[DataRequired(REQUIRED), Length(max=500)])


class PayForm(FlaskForm):
    idempotency_key = HiddenField(DECISION)
    paid_on = DateField(_l("Betalt dato"), validators=[DataRequired(REQUIRED)])
    reference = StringField(_l("Betalingsreferanse"), validators=[DataRequired(REQUIRED), Length(max=100)],
                            description=_l("Bilagsnummer, fakturanummer eller referanse fra økonomisystemet."))


class DelegationForm(FlaskForm):
    agency_id = SelectField(_l("Etat"), coerce=int)
    year = IntegerField(_l("Budsjettår"), validators=[DataRequired(REQUIRED), NumberRange(2000, 2100)])
    amount = _kroner(_l("Beløp i kroner"))
    decision_reference = StringField(_l("Etatens vedtak (saksnummer)"),
                                     validators=[DataRequired(REQUIRED), Length(max=100)])
    decided_on = DateField(_l("Vedtaksdato"), validators=[DataRequired(REQUIRED)])


class AllocationForm(FlaskForm):
    direction = SelectField(_l("Hva vil du gjøre?"), choices=choices([
        ("allocate", _l("Tildele fra potten")), ("return", _l("Flytte ubrukt tilbake til potten"))]))
    family_id = SelectField(_l("Familie"), coerce=int)
    agency_id = SelectField(_l("Fra/til etatens del av potten"), coerce=int)
    amount = _kroner(_l("Beløp i kroner"))


class RuleRowForm(Form):
    role = SelectField(_l("Rolle"), choices=choices(ApproverRole.choices()))
    agency_id = SelectField(_l("Gjelder ansatte i"), coerce=int)
    max_per_spend = _kroner(_l("Grense per utgift (kr)"), required=False,
                            description=_l("Tomt betyr ingen grense."))
    max_per_family_year = _kroner(_l("Grense per familie per år (kr)"), required=False,
                                  description=_l("Tomt betyr ingen grense."))
    funding_agency_id = SelectField(_l("Gjelder penger fra"), coerce=int, default=0)
    theme = SelectField(_l("Gjelder tema"), default="",
                        choices=choices([("", _l("Alle temaer"))] + [(t.code, t.name) for t in THEMES]))
    category = SelectField(_l("Gjelder kategori"), default="", choices=choices(
        [("", _l("Alle kategorier"))] + [(c, CATEGORY_LABELS[c]) for c in SPEND_CATEGORIES]))
    max_per_agency_year = _kroner(_l("Grense per etat per år (kr)"), required=False,
                                  description=_l("Tomt betyr ingen grense."))
    approvals_required = SelectField(_l("Godkjennere"), coerce=int,
                                     choices=choices([(1, _l("Én")), (2, _l("To forskjellige"))]))
    remove = BooleanField(_l("Fjern regelen"))


class RulesForm(FlaskForm):
    rules = FieldList(FormField(RuleRowForm), min_entries=1, max_entries=50)
    note = StringField(_l("Hva er endret, og hvorfor?"), validators=[Optional(), Length(max=300)])


# --- the books (issue 17) ------------------------------------------------------------------------------

class ReversePaymentForm(FlaskForm):
    idempotency_key = HiddenField(DECISION)
    reason = TextAreaField(_l("Begrunnelse"), validators=[DataRequired(REQUIRED), Length(max=500)])
    reversed_on = DateField(_l("Dato for tilbakeføringen"), validators=[Optional()],
                            description=_l("Tilbakeføringen bokføres i første åpne periode fra denne datoen."))


class CodesForm(FlaskForm):
    agency_id = SelectField(_l("Etat"), coerce=int)
    ansvar = StringField(_l("Ansvar"), validators=[DataRequired(REQUIRED), Length(max=10)],
                         description=_l("1 til 10 sifre."))
    funksjon = StringField(_l("Funksjon (KOSTRA)"), validators=[DataRequired(REQUIRED), Length(max=3)],
                           description=_l("Tre sifre, for eksempel 242 eller 283."))
    art = StringField(_l("Art (konto)"), validators=[DataRequired(REQUIRED), Length(max=8)],
                      description=_l("3 til 8 sifre; brukes når kategorien ikke har egen art."))
    prosjekt = StringField(_l("Prosjekt"), validators=[Optional(), Length(max=20)])


class CategoryAccountForm(FlaskForm):
    category = SelectField(_l("Utgiftskategori"), choices=choices(CATEGORY_LABELS.items()))
    category_art = StringField(_l("Art (konto)"), validators=[Optional(), Length(max=8)],
                               description=_l("Tomt felt fjerner kategoriens egen art."))


class MarkExportedForm(FlaskForm):
    agency_id = HiddenField()
    period = HiddenField()


YEAR_END_UNUSED_CHOICES = [("carry", _l("Overføres til neste år")), ("return", _l("Tilbake til potten"))]
YEAR_END_UNPAID_CHOICES = [("carry", _l("Overføres til neste år")), ("release", _l("Frigjøres (avbrytes)"))]


class AgencyDecisionForm(Form):
    agency_id = HiddenField()
    unused = SelectField(_l("Ubrukte tildelinger"), choices=choices(YEAR_END_UNUSED_CHOICES))
    unpaid = SelectField(_l("Godkjent, ikke betalt"), choices=choices(YEAR_END_UNPAID_CHOICES))
    decision_reference = StringField(_l("Etatens vedtak"), validators=[Optional(), Length(max=100)])


class YearEndForm(FlaskForm):
    year = HiddenField()
    agencies = FieldList(FormField(AgencyDecisionForm))
    confirm = BooleanField(_l("Jeg forstår at året ikke kan åpnes igjen"),
                           validators=[DataRequired(_l("Bekreft at året skal avsluttes."))])

"""Quarterly progress reports in bulk: start a batch, follow its progress, download the zip."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.batch import forms, services
from velferdslab.core import navigation
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, choices, render_form
from velferdslab.core.pdf import attachment
from velferdslab.core.permissions import requires

blueprint = Blueprint("batch", __name__, template_folder="templates")

LANGUAGES = (("nb", _l("Norsk bokmål")), ("en", _l("Engelsk")))


def _user():
    return current_user._get_current_object()


def _form() -> forms.QuarterForm:
    form = forms.QuarterForm()
    quarters = services.recent_quarters()
    form.quarter.choices = choices([(code, _("%(code)s (%(start)s–%(end)s)", code=code, start=start.strftime(
        "%d.%m.%Y"), end=end.strftime("%d.%m.%Y"))) for code, start, end in quarters])
    form.language.choices = choices(LANGUAGES)
    if form.quarter.data is None:
        form.quarter.data = quarters[1][0]  # the last full quarter
    return form


@blueprint.route("/rapporter/kvartal", methods=["GET", "POST"])
@requires("families.work")
def index():
    """Start a batch of progress reports for the quarter; the user's earlier batches below."""
    form = _form()
    if form.validate_on_submit():
        try:
            batch = services.start_quarterly_batch(_user(), form.quarter.data, language=form.language.data)
        except ServiceError as error:
            add_error(form, error, "quarter")
        else:
            flash(_("Rapportene lages nå. Siden viser hvor langt arbeidet har kommet."), "success")
            return redirect(url_for("batch.detail", batch_id=batch.id))
    batches = services.batches_for(_user())
    return render_form("batch/index.html", form, batches=batches,
                       progress=services.progress([b.id for b in batches]), quarter_code=services.quarter_code)


@blueprint.get("/rapporter/kvartal/<int:batch_id>")
@requires("families.work")
def detail(batch_id: int):
    batch = services.get_batch(_user(), batch_id)
    counts = services.progress([batch.id])[batch.id]
    return render_template("batch/detail.html", batch=batch, counts=counts, code=services.quarter_code(batch))


@blueprint.post("/rapporter/kvartal/<int:batch_id>/igjen")
@requires("families.work")
def requeue(batch_id: int):
    batch = services.get_batch(_user(), batch_id)
    count = services.requeue(_user(), batch)
    flash(_("%(n)s rapporter er sendt til køen igjen.", n=count) if count else _("Alle rapportene er ferdige."),
          "success")
    return redirect(url_for("batch.detail", batch_id=batch.id))


@blueprint.get("/rapporter/kvartal/<int:batch_id>/rapporter.zip")
@requires("families.work")
def download(batch_id: int):
    batch = services.get_batch(_user(), batch_id)
    data, count = services.zip_archive(_user(), batch)
    if not count:
        raise ServiceError(_("Ingen rapporter er ferdige ennå."), "batch", status=404)
    name = f"fremdriftsrapporter-{services.quarter_code(batch)}.zip"
    return attachment(data, name, "application/zip")


navigation.register(_l("Kvartalsrapporter"), "batch.index", "families.work", order=40)

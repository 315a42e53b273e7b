"""Family pages (HTML). Thin: access from ``cases.access``, data from the sub-packages' ``queries``,
every change through their ``services``. Only ``create_app`` imports this module.

Every sub-package's ``views`` adds its routes to the one blueprint ``cases`` (``cases.web``);
importing them here registers those routes. The family page's extension hook is ``cases.panels``.
"""

import velferdslab.cases.consent.views  # noqa: F401
import velferdslab.cases.enrolment.views  # noqa: F401
import velferdslab.cases.household.views  # noqa: F401
import velferdslab.cases.journey.views  # noqa: F401
import velferdslab.cases.meetings.views  # noqa: F401
import velferdslab.cases.minside.views  # noqa: F401
import velferdslab.cases.overview.views  # noqa: F401
import velferdslab.cases.plan.views  # noqa: F401
from velferdslab.cases.web import blueprint

__all__ = ["blueprint"]

"""JSON API for families and their case: members, enrolment, consent, themes, assessments, the
plan and meetings. Same rules as the pages: off the team is the audited 404 of a family that does
not exist; a gated member (no valid consent for their agency) gets the family's name, team and
meeting dates and attendees, and 403 for the rest. Every read of a family's data is audited.

Every sub-package's ``api`` adds its resources to the one blueprint ``cases_api`` (``cases.web``);
importing them here registers those resources. Only ``create_app`` imports this module.
"""

# The order of these imports is the order of the resources in the OpenAPI document.
# isort: off
import velferdslab.cases.overview.api  # noqa: F401 - families
import velferdslab.cases.household.api  # noqa: F401 - members
import velferdslab.cases.enrolment.api  # noqa: F401 - enrolments
import velferdslab.cases.consent.api  # noqa: F401 - consents
import velferdslab.cases.journey.api  # noqa: F401 - themes, assessments
import velferdslab.cases.plan.api  # noqa: F401 - goals, actions
import velferdslab.cases.meetings.api  # noqa: F401 - meetings
# isort: on
from velferdslab.cases.web import api_blueprint as blueprint

__all__ = ["blueprint"]

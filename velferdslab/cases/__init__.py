"""Families, members, enrolment, consent, journey assessments, plans and meetings.

One sub-package per part of the case, each with the same file roles (``models``, ``services``,
``queries``, ``views``, ``api``, ``schemas``, ``forms``, ``templates/cases/``)::

    household   the family and its members
    enrolment   registering (referring) a family, its enrolments and their follow-up dates
    consent     consent per agency and purpose
    journey     which themes apply, assessments and their versions, the journey history
    plan        goals and actions (*duken*)
    meetings    meetings, and a meeting's work (assessment, actions) in one call
    overview    *Mine familier*, the search and the family page: the read side over the others

Models, services and queries import only downwards: household ← enrolment ← consent ← journey ←
plan ← meetings ← overview (meetings may import plan, journey, enrolment and household; household
imports none of them). A link against that direction is a table name in ``ForeignKey("...")`` or
a backref on the importing side (``Enrolment.family`` declares ``Family.enrolments``).

Shared at this level: ``web`` (the one HTML blueprint ``cases`` and the one API blueprint
``cases_api``, and their handlers' helpers), ``panels`` (the family page's extension hook),
``access`` (who may see a family), ``themes`` (the themes and levels), ``rules`` (the services'
small rules), ``fields`` (schema and form field shorthands), ``chart`` and ``demo``.

Every service validates, changes, writes its audit row and flushes — it never commits (the request
does). A refusal is a :class:`~velferdslab.core.errors.ServiceError` whose ``field`` names the input
at fault, so forms can show the Norwegian message beside the field and the API can answer 422 with
``{field: [message]}``. Services that touch the case content take an
:class:`~velferdslab.cases.access.Access` and call ``access.require_consent()``: the consent gate
holds in the services, not only in the templates.
"""

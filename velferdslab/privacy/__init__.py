"""The family's data-protection rights: its access log, a full export, restriction and erasure.

Dependency direction: ``privacy`` may import ``audit``, ``cases``, ``teams``, ``budget`` and
``core`` (like ``reports``), and nothing imports it but ``create_app``. It sits on top because an
export and an erasure must reach every table that holds the family's data, whichever domain owns
it; the list of those tables and columns is ``privacy.inventory``, and a test fails when a new
table or text column about families is not in it.
"""

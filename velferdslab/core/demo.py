"""The demo lab's generator as a list of steps over one shared context.

Each domain adds its own step (families and journeys, budgets, …) with :func:`step` in its
``demo.py``; ``velferdslab.demo`` (the top level) adds the lab and its staff and runs them all. A
fixed seed makes every run the same; ``size`` scales it up for benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Names for made-up people (staff and family members alike).
FIRST_NAMES = ["Kari", "Ola", "Ingrid", "Lars", "Sofie", "Magnus", "Nora", "Jonas", "Emma", "Henrik", "Sara",
               "Aksel", "Ida", "Mathias", "Thea", "Sander", "Maja", "Elias", "Hanna", "Tobias", "Amalie",
               "Filip", "Julie", "Kristian", "Live", "Omar", "Amina", "Ali", "Fatima", "Mohammed", "Leah",
               "Jakob", "Selma", "Noah", "Ella", "William", "Aisha", "Tiril", "Eirik", "Mari"]
LAST_NAMES = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
              "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen",
              "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen",
              "Ali", "Ahmed", "Hussain", "Nguyen", "Khan", "Lie", "Moen", "Strand", "Solberg", "Bakken"]


@dataclass
class DemoContext:
    rng: random.Random
    size: int
    labs: list[Any] = field(default_factory=list)
    agencies: dict[int, list[Any]] = field(default_factory=dict)
    staff: dict[int, list[Any]] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def staff_with_role(self, lab: Any, role: str) -> list[Any]:
        return [u for u in self.staff[lab.id] if role in u.roles]


Step = Callable[[DemoContext], None]
STEPS: list[tuple[int, Step]] = []


def step(order: int) -> Callable[[Step], Step]:
    """Register a demo step; lower ``order`` runs first (staff is 10, families 20, budgets 30)."""

    def decorator(func: Step) -> Step:
        if all(f is not func for _, f in STEPS):
            STEPS.append((order, func))
            STEPS.sort(key=lambda item: item[0])
        return func

    return decorator

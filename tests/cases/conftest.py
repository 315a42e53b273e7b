import pytest

from tests.cases.world import build_world


@pytest.fixture
def world(ctx):
    return build_world()

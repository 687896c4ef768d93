import doctest

import pytest

import geo
import geo.areas
import geo.distance
import geo.eta
import geo.index
import geo.responders


@pytest.mark.parametrize(
    "module",
    [geo, geo.areas, geo.distance, geo.eta, geo.index, geo.responders],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_run(module):
    failed, attempted = doctest.testmod(module)
    assert attempted > 0
    assert failed == 0

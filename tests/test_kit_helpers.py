"""The small helpers the kit offers a plugin's tests say what went wrong rather than going on with something else."""

from __future__ import annotations

import pytest

from linkolis_host.testing import commands, samples

pytestmark = pytest.mark.no_store


def test_a_sample_shipment_refuses_a_field_a_shipment_does_not_have():
    assert samples.shipment("A1", ("7", 2), carrier_code="TNT").lines == [("7", 2)]
    with pytest.raises(TypeError, match="Shipment has no field trackingnumber"):
        samples.shipment("A1", trackingnumber="3S1")  # a typo would otherwise ship tracking number "T"


def test_a_command_that_ends_before_it_serves_fails_the_test_with_what_it_said():
    with pytest.raises(AssertionError, match="ended .* before printing 'Ctrl-C stops it.'.*No module named"):
        with commands.printout("linkolis_host.no_such_simulator"):
            pass

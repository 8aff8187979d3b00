"""Device strings, read in one place for both backends."""

from __future__ import annotations

import pytest

from hub_client.models.devices import Device, parse_device
from registry.errors import UsageError


@pytest.mark.parametrize(("text", "kind", "index"), [
    ("cpu", "cpu", None), ("CPU", "cpu", None), ("cuda", "cuda", None), ("cuda:1", "cuda", 1), ("GPU", "cuda", None),
    ("gpu:0", "cuda", 0), ("Ascend", "ascend", None), ("npu:3", "ascend", 3), (" cuda:2 ", "cuda", 2)])
def test_every_spelling_of_a_device(text, kind, index):
    assert parse_device(text) == Device(kind, index, text)


@pytest.mark.parametrize("text", ["tpu", "cuda:x", "cuda:", "", "mps"])
def test_unknown_devices_are_usage_errors(text):
    with pytest.raises(UsageError, match="unknown device"):
        parse_device(text)

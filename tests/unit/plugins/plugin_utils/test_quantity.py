"""plugins/plugin_utils/quantity.py: Kubernetes quantities read by value, as k8s.io/apimachinery's
pkg/api/resource/quantity.go reads them (ParseQuantity; the canonical forms are what kube-apiserver 1.36 returns)."""
from fractions import Fraction

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.peekoff.qdrant.plugins.filter.qdrant_quantity import FilterModule, qdrant_quantity
from ansible_collections.peekoff.qdrant.plugins.plugin_utils.quantity import (is_quantity, parse_quantity,
                                                                              quantity_number, same_quantity)

GI = 2 ** 30


@pytest.mark.parametrize("text,value", [
    ("0", 0), ("10Gi", 10 * GI), ("10240Mi", 10 * GI), ("1.5Gi", 3 * GI // 2), ("0.5Ti", 512 * GI),
    ("1536Mi", 3 * GI // 2), ("512Gi", 512 * GI), ("50G", 50 * 10 ** 9), ("1k", 1000), ("1Ki", 1024),
    ("500m", Fraction(1, 2)), ("1e3", 1000), ("1E3", 1000), ("1e-3", Fraction(1, 1000)), ("1E", 10 ** 18),
    ("1Ei", 2 ** 60), (".5", Fraction(1, 2)), ("5.", 5), ("+1", 1), ("-1Mi", -2 ** 20), ("007", 7),
    ("1.0000000001", 1 + Fraction(1, 10 ** 9)),  # rounded up to the nano, as ParseQuantity does
])
def test_value(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "Gi", "1gi", "1 Gi", "1.2.3", ".", "1e", "1e1.5", "1Gi ", "ten", "1iB",
                                  "--1", "1KiB", "1mi"])
def test_not_a_quantity(text):
    assert not is_quantity(text)
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_types():
    assert parse_quantity(10) == 10
    for value in (True, 1.5, None, ["1Gi"]):
        assert not is_quantity(value)


@pytest.mark.parametrize("written,stored", [("10240Mi", "10Gi"), ("1.5Gi", "1536Mi"), ("0.5Ti", "512Gi"),
                                            ("0.5", "500m"), ("1000M", "1G"), ("1e3", "1k")])
def test_same_as_the_api_servers_canonical_form(written, stored):
    assert same_quantity(written, stored)
    assert same_quantity(stored, written)


def test_different_values_and_non_quantities():
    assert not same_quantity("10Gi", "10G")
    assert not same_quantity("1Gi", "1025Mi")
    assert not same_quantity("qdrant", "qdrant")  # not quantities: no value to compare
    assert not same_quantity("1Gi", None)


def test_number_for_templates():
    assert quantity_number("10240Mi") == quantity_number("10Gi") == 10 * GI
    assert isinstance(quantity_number("10Gi"), int)
    assert quantity_number("500m") == 0.5


def test_filter():
    assert FilterModule().filters()["qdrant_quantity"] is qdrant_quantity
    assert qdrant_quantity("1.5Gi") == qdrant_quantity("1536Mi")
    with pytest.raises(AnsibleFilterError, match="not a Kubernetes quantity"):
        qdrant_quantity("ten gigs")

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Kubernetes resource quantities (``10Gi``, ``1.5Gi``, ``500m``, ``1e3``) read as exact values.

The API server stores a quantity in canonical form, not as written: ``10240Mi`` reads back as ``10Gi``, ``1.5Gi``
as ``1536Mi``, ``0.5Ti`` as ``512Gi``. Compare quantities by value, never as strings. The grammar and the parse
follow k8s.io/apimachinery pkg/api/resource/quantity.go (the comment above ``type Quantity`` and ParseQuantity):

    <quantity>        ::= <signedNumber><suffix>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <signedNumber>    ::= <number> | <sign><number>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>   (an integer exponent, as the parser reads it)

ParseQuantity rounds a non-zero magnitude up to the nano (1e-9), as here; its cap at 2^63-1 is not modelled
(no storage size comes near it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from fractions import Fraction

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"^(?P<sign>[+-]?)(?:(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]*))?|\.(?P<frac_only>[0-9]+))"
    r"(?:[eE](?P<exp>[+-]?[0-9]+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|))$")
_NANO = Fraction(1, 10 ** 9)


def parse_quantity(value):
    """The exact value (a Fraction) of a quantity string; ValueError when it is not a quantity.

    Integers (YAML ``10``) are read as their decimal string; booleans and floats are refused (a float has lost the
    written form already)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("not a Kubernetes quantity: %r" % (value,))
    m = _QUANTITY.match(str(value))
    if not m:
        raise ValueError("not a Kubernetes quantity: %r" % (value,))
    frac = m.group("frac") if m.group("int") is not None else m.group("frac_only")
    number = Fraction(int(m.group("int") or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
    if m.group("exp") is not None:
        number *= Fraction(10) ** int(m.group("exp"))
    elif m.group("suffix") in _BINARY:
        number *= 2 ** _BINARY[m.group("suffix")]
    else:
        number *= Fraction(10) ** _DECIMAL[m.group("suffix")]
    if number and (number / _NANO).denominator != 1:
        number = (-(-number // _NANO)) * _NANO  # round the magnitude up to the nano
    return -number if m.group("sign") == "-" else number


def is_quantity(value):
    try:
        parse_quantity(value)
    except ValueError:
        return False
    return True


def same_quantity(a, b):
    """True when ``a`` and ``b`` are both quantities of the same value (``10240Mi`` and ``10Gi``)."""
    try:
        return parse_quantity(a) == parse_quantity(b)
    except ValueError:
        return False


def quantity_number(value):
    """The value as an int when whole, else a float: for comparisons in templates (Jinja has no Fraction)."""
    number = parse_quantity(value)
    return int(number) if number.denominator == 1 else float(number)

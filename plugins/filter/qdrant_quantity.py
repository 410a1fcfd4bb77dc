# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: qdrant_quantity.yml beside this file.

from ansible.errors import AnsibleFilterError

from ansible_collections.peekoff.qdrant.plugins.plugin_utils.quantity import quantity_number


def qdrant_quantity(value):
    """The number a Kubernetes quantity stands for: ``10240Mi`` and ``10Gi`` -> 10737418240, ``500m`` -> 0.5."""
    try:
        return quantity_number(value)
    except ValueError as e:
        raise AnsibleFilterError("qdrant_quantity: %s (for example 50Gi, 1536Mi, 500m)" % e)


class FilterModule(object):
    def filters(self):
        return {"qdrant_quantity": qdrant_quantity}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: qdrant_jwt.yml beside this file.

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_jwt import QdrantJWTError, mint_token


def qdrant_jwt(api_key, access=None, ttl=86400, expires_at=None, subject=None, value_exists=None):
    """Mint an HS256 token for Qdrant JWT RBAC, signed with Qdrant's full api_key (always with exp: our policy)."""
    if access is None:
        raise AnsibleFilterError(
            "peekoff.qdrant.qdrant_jwt: access is required, e.g. access=[{'collection': 'products', 'access': 'r'}], "
            "access='r' (global read) or access='m' (global manage)")
    if not isinstance(api_key, str) or not api_key:
        raise AnsibleFilterError("peekoff.qdrant.qdrant_jwt: the input must be Qdrant's full api_key (a non-empty string)")
    if expires_at is None:
        try:
            if int(ttl) <= 0:
                raise ValueError
        except (TypeError, ValueError):
            raise AnsibleFilterError("peekoff.qdrant.qdrant_jwt: ttl must be a positive number of seconds")
    try:
        return mint_token(str(api_key), access, ttl=ttl, expires_at=expires_at, subject=subject,
                          value_exists=value_exists)
    except QdrantJWTError as e:
        raise AnsibleFilterError("peekoff.qdrant.qdrant_jwt: %s" % to_native(e))


class FilterModule(object):
    def filters(self):
        return {"qdrant_jwt": qdrant_jwt}

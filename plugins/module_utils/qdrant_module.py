# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AnsibleModule and the client every peekoff.qdrant module builds the same way.

``qdrant_module(argument_spec)`` adds the shared connection options (``qdrant_argument_spec``, doc fragment
``peekoff.qdrant.qdrant``) and their four constraints (one of url/kubernetes_proxy; not both; no client_cert with
kubernetes_proxy; client_cert with client_key). ``qdrant_connect(module, result)`` builds the client from them
(url or kubernetes_proxy), loads a client certificate, hides every credential the Kubernetes connection holds
(``no_log_values``) and turns a QdrantError into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant import (
    QDRANT_MUTUALLY_EXCLUSIVE,
    QDRANT_REQUIRED_ONE_OF,
    QDRANT_REQUIRED_TOGETHER,
    QdrantError,
    qdrant_argument_spec,
)
from ansible_collections.peekoff.qdrant.plugins.module_utils.qdrant_kube import client_from_params


def qdrant_module(argument_spec=None, api_key_required=True, required_one_of=(), mutually_exclusive=(),
                  required_together=(), **kwargs):
    """An AnsibleModule taking the shared connection options plus ``argument_spec`` (the module's own options).

    The module's own constraints are added to the shared ones; other keyword arguments (``supports_check_mode``,
    ``required_by``, ...) go to AnsibleModule unchanged.
    """
    spec = qdrant_argument_spec()
    if api_key_required:
        spec["api_key"]["required"] = True
    spec.update(argument_spec or {})
    return AnsibleModule(
        argument_spec=spec,
        required_one_of=list(QDRANT_REQUIRED_ONE_OF) + list(required_one_of),
        mutually_exclusive=list(QDRANT_MUTUALLY_EXCLUSIVE) + list(mutually_exclusive),
        required_together=list(QDRANT_REQUIRED_TOGETHER) + list(required_together),
        **kwargs)


def qdrant_connect(module, result):
    """The client for ``module.params`` (url or kubernetes_proxy). Fails the module (with ``result``) on a
    connection setting that cannot be used; every Kubernetes credential read on the way is in no_log_values."""
    params = module.params
    try:
        client, secrets = client_from_params(params)
        if params.get("client_cert"):
            client.load_client_certificate(params["client_cert"], params["client_key"])
    except QdrantError as e:
        module.no_log_values.update(getattr(e, "secrets", ()))  # e.g. tokens of an inline kubeconfig
        module.fail_json(msg=str(e), **result)
    for secret in secrets:
        if secret:
            module.no_log_values.add(secret)
    return client

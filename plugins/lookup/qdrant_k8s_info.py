# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: qdrant_k8s_info
author:
  - peekoff platform team (@peekoff)
short_description: Read Kubernetes objects in the controller's process, answering like kubernetes.core.k8s_info
description:
  - Reads the objects of one kind, as the C(kubernetes.core.k8s) lookup does (the same client, connection options
    and discovery cache), but answers like the C(kubernetes.core.k8s_info) module, with C(api_found) and
    C(resources), so that a kind the API server does not serve (its CRD is not installed) is told apart from
    an object that does not exist, without starting a module.
  - A kind the API server does not serve gives C(api_found=false) and no resources; a missing object gives
    C(api_found=true) and no resources; any other error (connection, authentication, permission) fails the lookup
    with the API server's message, it never reads as "not served".
  - Internal to the peekoff.qdrant roles (roles/common/tasks/read.yml); the shape of the answer may change.
options:
  api_version:
    description: The API group and version of the kind, for example C(v1) or C(gateway.networking.k8s.io/v1).
    type: str
    default: v1
  kind:
    description: The kind to read.
    type: str
    required: true
  namespace:
    description: The namespace to read in; all namespaces when not given.
    type: str
  resource_name:
    description: Read only the object of this name.
    type: str
  label_selector:
    description: Read only the objects whose labels match, for example C(app=qdrant,tier=db).
    type: str
  kubeconfig:
    description: Path of the kubeconfig file, as for the C(kubernetes.core.k8s) lookup.
    type: raw
  context:
    description: The kubeconfig context to use, as for the C(kubernetes.core.k8s) lookup.
    type: str
requirements:
  - kubernetes.core (its module_utils client) and the Python C(kubernetes) package
notes:
  - Other connection options of the C(kubernetes.core.k8s) lookup (host, api_key, validate_certs and the
    C(K8S_AUTH_*) environment variables) are passed to its client unchanged.
"""

EXAMPLES = r"""
- name: Is the Gateway API installed, and is there a GRPCRoute?
  ansible.builtin.debug:
    msg: "{{ query('peekoff.qdrant.qdrant_k8s_info', api_version='gateway.networking.k8s.io/v1', kind='GRPCRoute',
                   namespace='qdrant', resource_name='qdrant-grpc') | first }}"
"""

RETURN = r"""
_raw:
  description: One dictionary.
  type: list
  elements: dict
  contains:
    api_found:
      description: Whether the API server serves the kind (as kubernetes.core.k8s_info's C(api_found)).
      type: bool
    resources:
      description: The objects read, as kubernetes.core.k8s_info returns them.
      type: list
      elements: dict
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError, ResourceNotUniqueError
    IMPORT_ERROR = None
except ImportError as e:  # pragma: no cover - reported when the lookup runs
    IMPORT_ERROR = e


def read(client, kind, api_version="v1", namespace=None, name=None, label_selector=None):
    """Read like kubernetes.core's K8sService.find (module_utils/k8s/service.py) with K8sService.find_resource.

    K8SClient.resource() (module_utils/k8s/client.py) resolves the kind through discovery; when the API server does
    not serve it, the client raises ResourceNotFoundError (or ResourceNotUniqueError) and find() answers
    api_found=False with no resources. A 404 on the read (no such object) is NotFoundError: api_found=True, no
    resources, as find() and the k8s lookup (plugins/lookup/k8s.py, KubernetesLookup.run) answer. Everything else
    is raised.
    """
    try:
        resource = client.resource(kind, api_version)
    except (ResourceNotFoundError, ResourceNotUniqueError):
        return {"api_found": False, "resources": []}
    try:
        obj = client.get(resource, name=name, namespace=namespace, label_selector=label_selector)
    except NotFoundError:
        return {"api_found": True, "resources": []}
    if name:
        return {"api_found": True, "resources": [obj.to_dict()]}
    return {"api_found": True, "resources": obj.to_dict().get("items") or []}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if IMPORT_ERROR is not None:
            raise AnsibleError("peekoff.qdrant.qdrant_k8s_info needs kubernetes.core and the kubernetes Python package: %s" % IMPORT_ERROR)
        kind = kwargs.pop("kind", None)
        if not kind:
            raise AnsibleError("peekoff.qdrant.qdrant_k8s_info: kind is required")
        api_version = kwargs.pop("api_version", None) or "v1"
        namespace = kwargs.pop("namespace", None)
        name = kwargs.pop("resource_name", None)
        label_selector = kwargs.pop("label_selector", None)
        # The rest are connection options, handed to the client as the kubernetes.core.k8s lookup does
        # (KubernetesLookup.run: get_api_client(**kwargs)).
        client = get_api_client(**kwargs)
        return [read(client, kind, api_version, namespace or None, name or None, label_selector or None)]

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, peekoff platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Connection options shared by the peekoff.qdrant modules; the argument spec is
# plugins/module_utils/qdrant.py:qdrant_argument_spec(). Keep both in step.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of Qdrant's REST API, V(http://) or V(https://), for example V(https://qdrant.example.com)
        or V(http://127.0.0.1:6333).
      - Must not carry user information, a query string or a fragment.
      - Exactly one of O(url) and O(kubernetes_proxy) is required.
    type: str
  api_key:
    description:
      - Qdrant's full API key (C(service.api_key), env C(QDRANT__SERVICE__API_KEY)).
      - Sent in the C(api-key) header. Never returned or printed.
    type: str
  read_only_api_key:
    description:
      - Qdrant's read-only API key (C(service.read_only_api_key), env C(QDRANT__SERVICE__READ_ONLY_API_KEY)).
      - Never returned or printed.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of an V(https://) O(url).
      - With O(kubernetes_proxy), V(false) also skips verifying the Kubernetes API server's certificate.
      - Set to V(false) only for tests; give the CA in O(ca_path) instead.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) to trust for an V(https://) O(url), instead of the system store.
    type: path
  client_cert:
    description:
      - PEM file with the client certificate (and optionally its key) to present to an V(https://) O(url) whose
        Qdrant requires client certificates (C(service.verify_https_client_certificate=true)).
      - Requires O(client_key). Not used with O(kubernetes_proxy) (the API server connects to Qdrant there).
    type: path
  client_key:
    description:
      - PEM file with the private key of O(client_cert).
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: float
    default: 10
  kubernetes_proxy:
    description:
      - Reach Qdrant through the Kubernetes API server's service proxy
        (C(<server>/api/v1/namespaces/<namespace>/services/<scheme>:<service>:<port>/proxy)) with the
        credentials of a kubeconfig, without a port-forward. Use it when the Gateway is not reachable from the
        controller.
      - The API server consumes the C(Authorization) header, so Qdrant keys and tokens travel in the C(api-key)
        header on this path.
      - The kubeconfig user must authenticate with a token, a token file, a client certificate or a
        username/password; C(exec) and C(auth-provider) plugins are not supported and make the module fail
        with a message saying so.
      - The kubeconfig user needs the RBAC verbs C(get) and C(delete) on C(services/proxy) in the namespace
        (the API server maps the HTTP method of each proxied request to a verb).
      - Exactly one of O(url) and O(kubernetes_proxy) is required.
    type: dict
    suboptions:
      kubeconfig:
        description:
          - Path to the kubeconfig file. Defaults to the first entry of E(KUBECONFIG), then C(~/.kube/config).
        type: path
      context:
        description:
          - Context in the kubeconfig to use. Defaults to its C(current-context).
        type: str
      namespace:
        description:
          - Namespace of the Qdrant Service. Defaults to the context's namespace, then V(default).
        type: str
      service:
        description:
          - Name of the Qdrant Service.
        type: str
        required: true
      port:
        description:
          - Port of the Service, number or name.
        type: str
        default: '6333'
      scheme:
        description:
          - Scheme the API server uses towards the Service (V(https) when Qdrant itself serves TLS).
        type: str
        choices: [http, https]
        default: http
"""

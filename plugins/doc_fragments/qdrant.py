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
      - Not used with O(kubernetes_proxy), whose own O(kubernetes_proxy.validate_certs) is about the API server.
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
        (C(<server>/api/v1/namespaces/<namespace>/services/<scheme>:<service>:<port>/proxy)), without a
        port-forward. Use it when the Gateway is not reachable from the controller.
      - The connection to the API server is the one kubernetes.core's modules make, by kubernetes.core's own code
        (C(kubernetes.core.plugins.module_utils.k8s.client.get_api_client)) with its options (below) and the same
        E(K8S_AUTH_*) environment variables, so every kubeconfig C(kubectl) accepts works, C(exec) credential
        plugins (EKS, GKE, AKS, OIDC login helpers) and C(proxy-url) included. Needs the C(kubernetes) Python
        library on the host running the module (O(url) does not).
      - C(module_defaults) for C(group/kubernetes.core.k8s) fill these connection options (only these, and only
        inside O(kubernetes_proxy), never O(api_key) or O(validate_certs) at the top level) where the task does
        not set them.
      - The API server consumes the C(Authorization) header, so Qdrant keys and tokens travel in the C(api-key)
        header on this path.
      - The Kubernetes user needs the RBAC verbs C(get) and C(delete) on C(services/proxy) in the namespace (the
        API server maps the HTTP method of each proxied request to a verb), and API discovery, which every
        authenticated user has by default (the client reads C(/version), C(/api), C(/apis) once and caches them).
      - peekoff.qdrant.qdrant_check with C(expect_peers) above 1 also needs C(get) on C(services), C(list) on
        C(pods) (to find the Service's pods) and C(get) on C(pods/proxy) (each pod's C(/readyz)).
      - Exactly one of O(url) and O(kubernetes_proxy) is required.
    type: dict
    suboptions:
      namespace:
        description:
          - Namespace of the Qdrant Service. Defaults to the kubeconfig context's namespace, then V(default).
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
      kubeconfig:
        description:
          - Kubeconfig file, several files separated by V(:) (merged like E(KUBECONFIG)), or the kubeconfig as a
            dictionary. E(K8S_AUTH_KUBECONFIG) when not set.
          - Without it (and without O(kubernetes_proxy.host)), the in-cluster service account when the module runs
            in a pod, else E(KUBECONFIG) (every file of the list), else C(~/.kube/config).
          - As kubernetes.core's O(kubernetes.core.k8s#module:kubeconfig).
        type: raw
      context:
        description:
          - Context of the kubeconfig to use. Defaults to its C(current-context). E(K8S_AUTH_CONTEXT) when not set.
        type: str
      host:
        description:
          - URL of the API server, instead of a kubeconfig (with O(kubernetes_proxy.api_key), or a client
            certificate and key). E(K8S_AUTH_HOST) when not set.
        type: str
      api_key:
        description:
          - Bearer token for the API server (not Qdrant's key). E(K8S_AUTH_API_KEY) when not set. Never printed.
        type: str
      username:
        description:
          - Username for HTTP basic authentication to the API server. E(K8S_AUTH_USERNAME) when not set.
        type: str
      password:
        description:
          - Password for HTTP basic authentication to the API server. E(K8S_AUTH_PASSWORD) when not set.
        type: str
      validate_certs:
        description:
          - Verify the API server's TLS certificate. E(K8S_AUTH_VERIFY_SSL) when not set; default from the
            kubeconfig (C(insecure-skip-tls-verify)), else V(true).
          - The top-level O(validate_certs) is about O(url) only.
        type: bool
        aliases: [verify_ssl]
      ca_cert:
        description:
          - CA certificate (full chain) for the API server. E(K8S_AUTH_SSL_CA_CERT) when not set.
        type: path
        aliases: [ssl_ca_cert]
      client_cert:
        description:
          - Client certificate for the API server. E(K8S_AUTH_CERT_FILE) when not set.
        type: path
        aliases: [cert_file]
      client_key:
        description:
          - Key of O(kubernetes_proxy.client_cert). E(K8S_AUTH_KEY_FILE) when not set.
        type: path
        aliases: [key_file]
      proxy:
        description:
          - URL of an HTTP (or SOCKS) proxy towards the API server; overrides the kubeconfig's C(proxy-url).
            E(K8S_AUTH_PROXY) when not set. E(HTTPS_PROXY) is not read.
        type: str
      no_proxy:
        description:
          - Comma-separated hosts, domains or CIDRs reached without O(kubernetes_proxy.proxy).
            E(K8S_AUTH_NO_PROXY) when not set.
        type: str
      proxy_headers:
        description:
          - Headers for the HTTP proxy, as kubernetes.core's O(kubernetes.core.k8s#module:proxy_headers).
        type: dict
        suboptions:
          proxy_basic_auth:
            description:
              - C(username:password) for the proxy. E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) when not set.
            type: str
          basic_auth:
            description:
              - C(username:password) for a basic authentication header. E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH) when
                not set.
            type: str
          user_agent:
            description:
              - User agent towards the proxy. E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) when not set.
            type: str
      persist_config:
        description:
          - Save refreshed C(auth-provider) tokens back into the kubeconfig file. E(K8S_AUTH_PERSIST_CONFIG) when
            not set.
        type: bool
      impersonate_user:
        description:
          - User to impersonate towards the API server (C(Impersonate-User)). E(K8S_AUTH_IMPERSONATE_USER) when
            not set.
        type: str
      impersonate_groups:
        description:
          - Groups to impersonate (C(Impersonate-Group)). E(K8S_AUTH_IMPERSONATE_GROUPS) (comma-separated) when
            not set.
        type: list
        elements: str
"""

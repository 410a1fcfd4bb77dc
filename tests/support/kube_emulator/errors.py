"""apiserver-style errors carried as metav1.Status bodies."""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(rt, name, extra=None):
    d = {"name": name} if name is not None else {}
    if rt.group:
        d["group"] = rt.group
    d["kind"] = rt.plural
    if extra:
        d.update(extra)
    return d


def not_found(rt, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (rt.group_resource, name), _details(rt, name))


def namespace_not_found(ns):
    return ApiError(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})


def path_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (rt.group_resource, name),
                    _details(rt, name))


def conflict(rt, name, why="the object has been modified; please apply your changes to the latest version "
                           "and try again"):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s' % (rt.group_resource, name, why),
                    _details(rt, name))


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message, {})


def unsupported_media_type(content_type, accepted):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: %s"
                    % ", ".join(accepted), {})


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


class Cause:
    """One field error, formatted like k8s.io/apimachinery/pkg/util/validation/field.Error."""

    REASONS = {
        "Required value": "FieldValueRequired",
        "Invalid value": "FieldValueInvalid",
        "Unsupported value": "FieldValueNotSupported",
        "Forbidden": "FieldValueForbidden",
        "Duplicate value": "FieldValueDuplicate",
        "Too long": "FieldValueTooLong",
        "Too many": "FieldValueTooMany",
        "Not found": "FieldValueNotFound",
        "Internal error": "InternalError",
    }

    def __init__(self, field, kind, detail=None, value=None, has_value=False):
        self.field = field
        self.kind = kind          # e.g. "Required value"
        self.detail = detail
        self.value = value
        self.has_value = has_value

    def message(self):
        msg = self.kind
        if self.has_value:
            msg += ": " + go_value(self.value)
        if self.detail:
            msg += ": " + self.detail
        return msg

    def full(self):
        return "%s: %s" % (self.field, self.message()) if self.field else self.message()

    def as_cause(self):
        return {"reason": self.REASONS.get(self.kind, "FieldValueInvalid"), "message": self.message(),
                "field": self.field}


def go_value(v):
    """Roughly how field.Error prints a value (%#v for strings, plain for numbers)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"%s"' % v.replace('"', '\\"')
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[]interface {}{%s}" % ", ".join(go_value(x) for x in v)
    if isinstance(v, dict):
        return "map[string]interface {}{%s}" % ", ".join('"%s":%s' % (k, go_value(x)) for k, x in sorted(v.items()))
    return str(v)


def invalid(rt, name, causes):
    """422 Invalid: ``Deployment.apps "x" is invalid: <field>: <message>`` (``[a, b]`` for several)."""
    if len(causes) == 1:
        text = causes[0].full()
    else:
        text = "[" + ", ".join(c.full() for c in causes) + "]"
    details = {"name": name}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.kind
    details["causes"] = [c.as_cause() for c in causes]
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (rt.group_kind, name, text), details)

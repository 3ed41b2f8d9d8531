"""Errors raised by rules and stores; one API handler turns them into responses."""

from typing import Any, ClassVar


class ServiceError(Exception):
    status_code: ClassVar[int] = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(ServiceError):
    status_code = 400


class Unauthorized(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Unprocessable(ServiceError):
    status_code = 422


class PreconditionFailed(ServiceError):
    status_code = 412


class PreconditionRequired(ServiceError):
    status_code = 428


class TooManyRequests(ServiceError):
    status_code = 429


class NotReplicated(ServiceError):
    """Written on the primary, not yet on the replicas the deployment asks for: not acknowledged."""

    status_code = 503

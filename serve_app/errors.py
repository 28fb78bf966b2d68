"""The only place domain exceptions become HTTP statuses (and, for the live path, protocol errors)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Refused,
    Throttled,
)

HTTP_STATUS: dict[type[DomainError], int] = {
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    Refused: 403,
    Throttled: 429,
    NotFound: 404,
    Conflict: 409,
    InvalidRequest: 422,
}


def http_status_of(error: DomainError) -> int:
    return next((status for kind, status in HTTP_STATUS.items() if isinstance(error, kind)), 400)


def domain_error_response(error: DomainError) -> JSONResponse:
    status = http_status_of(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(error, Throttled):
        headers = {"Retry-After": str(error.retry_after_s)}
    return JSONResponse({"detail": error.message, "code": error.code}, status_code=status, headers=headers)


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return domain_error_response(error)


async def _invalid_body(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {
            "loc": list(problem.get("loc", ())),
            "msg": problem.get("msg", "invalid"),
            "type": problem.get("type", "value_error"),
        }
        for problem in error.errors()
    ]
    summary = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'body'}: {problem['msg']}" for problem in problems
    )
    return JSONResponse(
        {"detail": jsonable_encoder(problems), "code": "invalid_request", "message": summary}, status_code=422
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_body)

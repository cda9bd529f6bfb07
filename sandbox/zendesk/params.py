"""Query parameters of the simulated API and the errors its endpoint handlers raise.

Owns `Params` (parsed query strings), `ApiError` (an error answer: status and Zendesk's
`error`/`description` body) and the readers of single parameters the handlers share.
"""

from __future__ import annotations

Params = dict[str, list[str]]


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.body = status, {"error": error, "description": description}


def int_param(params: Params, name: str, default: int | None = None) -> int | None:
    values = params.get(name)
    if not values or values[0] == "":
        return default
    try:
        return int(float(values[0]))
    except ValueError:
        raise ApiError(400, "InvalidValue", f"{name} must be an integer") from None


def one_param(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None

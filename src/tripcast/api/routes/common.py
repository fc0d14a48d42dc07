"""What every router shares: the documented error answers."""

from __future__ import annotations

from typing import Any

from tripcast.api.schemas import ErrorOut

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key where one is needed, or an unknown or revoked one"},
    403: {
        "model": ErrorOut,
        "description": "The API key's role lacks the permission; the roles that have it are named",
    },
    413: {"model": ErrorOut, "description": "Batch larger than max_batch_size"},
    422: {"model": ErrorOut, "description": "Invalid trip: each broken field is named"},
    503: {"model": ErrorOut, "description": "No model loaded yet, or the server is overloaded (see Retry-After)"},
}

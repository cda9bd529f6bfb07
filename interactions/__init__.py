"""The common interaction model: plain frozen records every layer speaks, and the error tree.

Nothing here does I/O. Connectors build these records from API pages, the warehouse stores
and loads them, scoring turns them into per-agent-per-day counts.
"""

from interactions.errors import (
    PAGE_NOT_STORED,
    AllowanceExhaustedError,
    AllowanceShareUsed,
    AuthenticationError,
    ConfigError,
    CursorStuckError,
    DeskmetricsError,
    InputError,
    MalformedRecordError,
    SourceError,
    SourceUnavailableError,
    WarehouseError,
)
from interactions.model import (
    OFFER_SCORES,
    Agent,
    History,
    Interaction,
    OwnershipChange,
    Quarantined,
    Rating,
    RatingState,
    Removed,
    SatisfactionChange,
    StatusChange,
    is_answer_score,
)

__all__ = [
    "OFFER_SCORES",
    "PAGE_NOT_STORED",
    "Agent",
    "AllowanceExhaustedError",
    "AllowanceShareUsed",
    "AuthenticationError",
    "ConfigError",
    "CursorStuckError",
    "DeskmetricsError",
    "History",
    "InputError",
    "Interaction",
    "MalformedRecordError",
    "OwnershipChange",
    "Quarantined",
    "Rating",
    "RatingState",
    "Removed",
    "SatisfactionChange",
    "SourceError",
    "SourceUnavailableError",
    "StatusChange",
    "WarehouseError",
    "is_answer_score",
]

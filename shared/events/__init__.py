"""Domain events: the CloudEvents envelope and the versioned contracts."""

from shared.events.contracts import (
    BY_TYPE,
    CONTRACTS,
    DeadlinePassed,
    DocumentFormed,
    EventData,
    RankingPublished,
    TaskAssigned,
    VoteCast,
    dead_letter_topic,
    topic_for,
)
from shared.events.envelope import CloudEvent

__all__ = [
    "BY_TYPE",
    "CONTRACTS",
    "CloudEvent",
    "DeadlinePassed",
    "DocumentFormed",
    "EventData",
    "RankingPublished",
    "TaskAssigned",
    "VoteCast",
    "dead_letter_topic",
    "topic_for",
]

"""Domain events: the CloudEvents envelope and the versioned contracts."""

from shared.events.contracts import (
    BY_TYPE,
    CONTRACTS,
    DeadlinePassed,
    DepartmentDesignated,
    DocumentFormed,
    DocumentPublished,
    EscalationRaised,
    EventData,
    ExemptionDecided,
    FeedbackSubmitted,
    InterviewRequired,
    RankingPublished,
    RoundTallied,
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
    "DepartmentDesignated",
    "DocumentFormed",
    "DocumentPublished",
    "EscalationRaised",
    "EventData",
    "ExemptionDecided",
    "FeedbackSubmitted",
    "InterviewRequired",
    "RankingPublished",
    "RoundTallied",
    "TaskAssigned",
    "VoteCast",
    "dead_letter_topic",
    "topic_for",
]

"""One kind of rule refusal for every service: ``RuleViolation`` (rule id, field, detail).

Domain code (``services/<name>/domain.py``) raises it; it knows nothing of HTTP. The handler that
``shared.problems.install`` adds to every app turns it into ``application/problem+json``: status
422, or 409 for a ``Conflict`` (the request is well formed but the state does not allow it now),
404 for a ``Missing`` thing. A reader finds a rule by its id in one hop: DOMAIN.md id →
``domain.py`` (the ``rule=`` of the refusal) → the test that names the id.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RuleViolation(Exception):
    """A request a rule refuses.

    ``kind`` is the stable problem type (``/problems/<kind>``), ``rule`` the DOMAIN.md id, ``field``
    the request field the refusal is about. Subclasses may fix ``kind``, ``rule`` and ``status`` as
    class attributes; arguments given to the constructor win. ``extra`` members are added to the
    problem details as they are.
    """

    kind: ClassVar[str] = "rule-violation"
    rule: ClassVar[str | None] = None
    status: ClassVar[int] = 422

    def __init__(
        self,
        detail: str,
        *,
        rule: str | None = None,
        kind: str | None = None,
        field: str | None = None,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra
        # Instance attributes shadow the class defaults only when given.
        if rule is not None:
            self.rule = rule  # type: ignore[misc]
        if kind is not None:
            self.kind = kind  # type: ignore[misc]
        if status is not None:
            self.status = status  # type: ignore[misc]


class Conflict(RuleViolation):
    """The request is valid but the current state does not allow it (409)."""

    kind: ClassVar[str] = "conflict"
    status: ClassVar[int] = 409


class Missing(RuleViolation):
    """The thing the request names does not exist (404)."""

    kind: ClassVar[str] = "not-found"
    status: ClassVar[int] = 404

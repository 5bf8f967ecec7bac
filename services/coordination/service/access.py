"""Who a principal acts for in coordination.

The office and the supervision office see every sheet. A department principal acts for the
department code of its ``department`` claim; a leader principal for the leader code it holds in
the same claim (e.g. ``dsg-industry``). Only the office enters steps of a leader instruction
handled on paper later, with the instant they state (补录, C7). Admin passes every check.
"""

from __future__ import annotations

from shared.auth import Principal
from shared.problems import Problem
from shared.reference import department_name

OVERSEERS = ("office", "supervisor")


def sees_everything(principal: Principal) -> bool:
    """The office and the supervision office see every sheet (admin passes every check)."""
    return principal.has_any(*OVERSEERS)


def enters_paper_records(principal: Principal) -> bool:
    """The office enters steps handled on paper later (补录), with the instant they state (C7)."""
    return principal.has_any("office")


def is_department(principal: Principal, code: str) -> bool:
    """The principal acts for department ``code`` (role department, claim department)."""
    return ("department" in principal.roles and principal.department == code) or "admin" in principal.roles


def own_department(principal: Principal) -> str | None:
    """The department a department principal acts for."""
    return principal.department if "department" in principal.roles and principal.department else None


def leader_code(principal: Principal) -> str | None:
    """A leader principal's leader code is its ``department`` claim (e.g. ``dsg-industry``)."""
    return principal.department if "leader" in principal.roles else None


def is_leader(principal: Principal, code: str) -> bool:
    return leader_code(principal) == code or "admin" in principal.roles


def require_department(principal: Principal, code: str, *, who: str, action: str) -> None:
    """Only department ``code`` itself may do ``action`` (e.g. the cooperating department its item)."""
    if not is_department(principal, code):
        raise Problem(403, f"只有{who} {code}（{department_name(code)}）可以{action}", kind="forbidden")

"""No number of the rules is written into the code that applies them: it comes from the profile.

The rule code (every service's ``domain.py`` and use cases) is scanned for the numbers the
default profile gives the rules — the 10 days of D1, the 3/10 days of C2, 5th and 3rd place and
3 releases of I4/I5, 100 evaluators, 3 choices and 3 seats of E1/E3, 2 and 3 quarters of E4, the
20th and 25th of E2/E3 — where a rule would use them: compared with, or counted as days. A
national profile must be able to change every one of them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.policy import load_profile
from shared.registry import DOMAIN_SERVICES

ROOT = Path(__file__).resolve().parents[2]
_PROFILE_NUMBERS_EXCLUDED = {0, 1}
"""0 and 1 (empty, first, one day) are not policy numbers by themselves."""


def _profile_numbers() -> set[int]:
    numbers: set[int] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            # The months of the schedule are calendar facts (quarters start in them), not counts.
            for key, value in node.items():
                if key != "months":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, int) and not isinstance(node, bool):
            numbers.add(node)

    walk(load_profile().model_dump())
    return numbers - _PROFILE_NUMBERS_EXCLUDED


def _rule_code(service: str) -> Iterator[Path]:
    folder = ROOT / "services" / service
    yield folder / "domain.py"
    yield from sorted((folder / "service").rglob("*.py"))


def _literal(node: ast.AST, numbers: set[int]) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value in numbers:
        return node.value
    return None


def _policy_literals(path: Path, numbers: set[int]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        operands: list[ast.AST] = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "timedelta":  # a number of days, not minutes of clock skew
                operands = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "days")]
            elif name in {"TimeLimit", "add_working_days", "deadline", "last_day"}:
                operands = [*node.args, *(k.value for k in node.keywords)]
        for operand in operands:
            if (value := _literal(operand, numbers)) is not None:
                found.append(f"{path.relative_to(ROOT)}:{operand.lineno}: {value}")
    return found


@pytest.mark.parametrize("service", DOMAIN_SERVICES)
def test_rule_code_reads_its_numbers_from_the_profile(service):
    numbers = _profile_numbers()
    assert {2, 3, 5, 10, 20, 25, 100} <= numbers
    found = [hit for path in _rule_code(service) if path.exists() for hit in _policy_literals(path, numbers)]
    assert found == []

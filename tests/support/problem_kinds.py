"""Every problem ``type`` the code can answer with, found by reading the source (``ast``).

A kind is counted where it is given to something that makes a problem: ``Problem``,
``problem_response``, ``RuleViolation`` and its subclasses (``Conflict``, ``Missing``, a service's
own), and every function or class that takes a ``kind`` and hands it on to one of those (found
by following the calls, e.g. ``parse_period``, the gateway guard's ``_Refusal``, evaluation's
``_refusal`` factory): as ``kind="…"`` or at the position of its ``kind`` parameter. A subclass's
``kind: ClassVar[str] = "…"``, the status defaults of ``shared.problems`` and any ``"/problems/…"``
literal count too. A ``kind=`` given to anything else (an event's subject kind, a view's item
kind) is not a problem type and is not counted.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("services", "shared")
_BASE_MAKERS = {"Problem", "problem_response", "RuleViolation", "Conflict", "Missing"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _trees() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
    ]


def _kind_parameter(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int | None:
    """The position of a ``kind`` parameter (counting ``self``), or None."""
    names = [a.arg for a in node.args.posonlyargs + node.args.args]
    if "kind" in names:
        return names.index("kind")
    return -1 if any(a.arg == "kind" for a in node.args.kwonlyargs) else None


def _makers(trees: Iterable[tuple[Path, ast.Module]]) -> dict[str, int | None]:
    """Names that make problems → position of their ``kind`` argument (None: keyword only)."""
    makers: dict[str, int | None] = dict.fromkeys(_BASE_MAKERS)
    makers["Problem"] = None
    candidates: list[tuple[str, int | None, set[str], bool]] = []
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b for b in map(_name, node.bases) if b}
                init = next(
                    (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None
                )
                position = _kind_parameter(init) if init is not None else None
                used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                candidates.append((node.name, position, bases | (used if init is not None else set()), True))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                position = _kind_parameter(node)
                if position is not None:
                    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                    candidates.append((node.name, position, used, False))
    changed = True
    while changed:
        changed = False
        for name, position, used, is_class in candidates:
            if name not in makers and used & makers.keys():
                # A class's positions count ``self``; a call does not pass it.
                makers[name] = position - 1 if is_class and position and position > 0 else position
                changed = True
    return makers


def problem_kinds() -> dict[str, set[str]]:
    """Each kind the code uses → the files that use it."""
    trees = _trees()
    makers = _makers(trees)
    found: dict[str, set[str]] = defaultdict(set)
    for path, tree in trees:
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (callee := _name(node.func)) in makers:
                values = [k.value for k in node.keywords if k.arg == "kind"]
                position = makers[callee]
                if position is not None and position >= 0 and len(node.args) > position:
                    values.append(node.args[position])
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found[value.value].add(where)
            elif isinstance(node, ast.ClassDef) and (
                node.name in makers or {b for b in map(_name, node.bases) if b} & makers.keys()
            ):
                for item in node.body:
                    if (
                        isinstance(item, ast.AnnAssign | ast.Assign)
                        and "kind"
                        in {
                            t.id
                            for t in (item.targets if isinstance(item, ast.Assign) else [item.target])
                            if isinstance(t, ast.Name)
                        }
                        and isinstance(item.value, ast.Constant)
                        and isinstance(item.value.value, str)
                    ):
                        found[item.value.value].add(where)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("/problems/")
            ):
                kind = node.value.removeprefix("/problems/")
                if kind and "/" not in kind and "{" not in kind:
                    found[kind].add(where)
    from shared import problems

    for kind in problems.STATUS_KINDS.values():
        found[kind].add("shared/problems.py")
    return dict(found)

"""Evaluation use cases, one transaction each: facts, rounds, panel, reference pack, ballots, results."""

from services.evaluation.service.facts import department_facts_of

__all__ = ["department_facts_of"]

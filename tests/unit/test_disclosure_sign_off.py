"""D2/D3 for exemption sign-offs, without I/O: who may state an instant, which instants are
refused, and what a decision does to its version depending on when it was made."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.disclosure.domain import (
    DisclosureMode,
    SignOff,
    VersionStatus,
    decision_outcome,
    last_day_of,
    sign_off,
)
from shared.rules import RuleViolation

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2018, 6, 12, tzinfo=SHANGHAI)  # 24:00 of 2018-06-11
FORMED_ON = date(2018, 6, 1)
NOW = datetime(2018, 6, 20, 10, tzinfo=SHANGHAI)


# Who signs unless a test says otherwise: the office enters vm-executive's paper sign-off.
BACKFILL: dict[str, Any] = {
    "leader": None,
    "office": True,
    "client": "city-office",
    "stated_signer": "vm-executive",
}


def _stated(stated_at: datetime | None, **who: Any) -> SignOff:
    """A sign-off stating ``stated_at`` (None: a live one) of a version formed on FORMED_ON, made at NOW."""
    return sign_off(stated_at=stated_at, formed_on=FORMED_ON, now=NOW, **(BACKFILL | who))


def test_D2_a_live_sign_off_is_the_leaders_at_now_and_recorded_by_his_client() -> None:
    signed = _stated(None, leader="vm-executive", office=False, client="client-vm", stated_signer=None)
    assert (signed.signer, signed.decided_at, signed.recorded_by, signed.recorded_at) == (
        "vm-executive",
        NOW,
        "client-vm",
        NOW,
    )
    assert signed.backfilled is False


def test_D2_a_backfilled_sign_off_keeps_the_stated_instant_beside_who_entered_it_and_when() -> None:
    stated = datetime(2018, 6, 8, 16, tzinfo=SHANGHAI)
    signed = _stated(stated)
    assert (signed.signer, signed.decided_at, signed.recorded_by, signed.recorded_at, signed.backfilled) == (
        "vm-executive",
        stated,
        "city-office",
        NOW,
        True,
    )


@pytest.mark.parametrize(
    ("stated_at", "kind"),
    [
        (datetime(2018, 6, 20, 10, 6, tzinfo=SHANGHAI), "decided-at-in-future"),
        (datetime(2018, 5, 31, 23, 59, tzinfo=SHANGHAI), "decided-at-before-formation"),
    ],
)
def test_D2_a_stated_instant_in_the_future_or_before_formation_is_refused(
    stated_at: datetime, kind: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        _stated(stated_at)
    assert (refused.value.kind, refused.value.rule, refused.value.status) == (kind, "D2", 422)


def test_D2_only_the_office_states_an_instant_and_only_a_leader_signs_live() -> None:
    with pytest.raises(RuleViolation) as refused:
        _stated(datetime(2018, 6, 8, tzinfo=SHANGHAI), leader="vm-executive", office=False)
    assert (refused.value.kind, refused.value.status) == ("backfill-office-only", 403)
    with pytest.raises(RuleViolation) as refused:
        _stated(None, stated_signer=None)
    assert (refused.value.kind, refused.value.status) == ("signer-not-leader", 403)


def test_D2_a_signer_without_the_instant_of_the_paper_record_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        _stated(None, leader="vm-executive", office=False)
    assert (refused.value.kind, refused.value.field, refused.value.status) == (
        "decided-at-required",
        "decided_at",
        422,
    )


def test_D2_a_grant_before_the_deadline_exempts_even_an_overdue_version_and_withdraws_its_overdue() -> None:
    before = datetime(2018, 6, 11, 23, 59, 59, tzinfo=SHANGHAI)
    fresh = decision_outcome(True, VersionStatus.OPEN, DEADLINE, before, NOW)
    assert fresh.changes == {"status": VersionStatus.EXEMPT}
    assert not (fresh.after_deadline or fresh.closes_overdue or fresh.withdraws_overdue)
    swept = decision_outcome(True, VersionStatus.OVERDUE, DEADLINE, before, NOW)
    assert swept.changes == {"status": VersionStatus.EXEMPT} and swept.withdraws_overdue


def test_D3_a_grant_at_or_after_the_deadline_leaves_the_version_overdue_recorded_once() -> None:
    open_late = decision_outcome(True, VersionStatus.OPEN, DEADLINE, DEADLINE, DEADLINE)
    assert open_late.changes == {} and open_late.after_deadline and open_late.closes_overdue
    swept = decision_outcome(True, VersionStatus.OVERDUE, DEADLINE, NOW, NOW)
    assert swept.after_deadline and not swept.closes_overdue and not swept.withdraws_overdue


def test_D2_a_refusal_makes_the_version_proactive_and_past_the_deadline_it_is_overdue() -> None:
    in_time = datetime(2018, 6, 5, tzinfo=SHANGHAI)
    refused = decision_outcome(False, VersionStatus.OPEN, DEADLINE, in_time, in_time)
    assert refused.changes == {"disclosure_mode": DisclosureMode.PROACTIVE} and not refused.closes_overdue
    assert decision_outcome(False, VersionStatus.OPEN, DEADLINE, NOW, NOW).closes_overdue


def test_D1_the_last_day_is_the_day_before_the_deadline_instant() -> None:
    assert last_day_of(DEADLINE) == date(2018, 6, 11)
    assert last_day_of(datetime(2018, 6, 11, 16, tzinfo=ZoneInfo("UTC"))) == date(2018, 6, 11)

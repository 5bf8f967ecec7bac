"""Pure rules of the low-efficiency evaluation (低效能部门评定, E1–E5): no web, database or broker.

- Quarters and the schedule of a round (E2/E3): a round is named after the quarter it judges
  (``2018-Q2``) and runs in the schedule month of the following quarter (July 2018), with the
  reference pack due by one day of that month and the tally by another.
- The round's state machine: draft → reference-published → voting-open → closed → tallied →
  results-published.
- The panel (评定人员, E1): categories and quotas with district splits, one person once, rotating
  members named early enough.
- The ballot (E1): exactly the profile's number of distinct candidates, optional reasons tagged
  with the consideration factors.
- The tally (E3): competition ranking ("1224"); every department ranked within the top seats is
  selected, so a tie at the boundary adds seats; too few votes never select.
- The consequences (E4): runs of consecutive selected quarters and the designation bulletin.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol, TypeVar, cast

from shared.calendar import CalendarError, HolidayCalendar
from shared.deadlines import last_day
from shared.periods import Frequency, ReportPeriod, parse_period, quarter_of
from shared.policy import EvaluationPolicy, EvaluationSchedule
from shared.reference import ConsiderationFactor, Department, PanelCategory
from shared.rules import Conflict, RuleViolation

# --- refusals ------------------------------------------------------------------------------------


def _refusal(name: str, kind: str, *, rule: str = "E1", conflict: bool = False) -> type[RuleViolation]:
    """A refusal of its own class, so that callers and tests can tell one broken rule from another.

    ``conflict``: the request is well formed but the round's state does not allow it (409).
    """
    base = Conflict if conflict else RuleViolation
    attributes = {"kind": kind, "rule": rule, "__module__": __name__, "__qualname__": name}
    return cast(type[RuleViolation], type(name, (base,), attributes))


InvalidQuarter = _refusal("InvalidQuarter", "invalid-quarter", rule="E2")
InvalidRoundState = _refusal("InvalidRoundState", "invalid-round-state", conflict=True)
UnknownCategory = _refusal("UnknownCategory", "unknown-panel-category")
DistrictMismatch = _refusal("DistrictMismatch", "panel-district-mismatch")
QuotaExceeded = _refusal("QuotaExceeded", "panel-quota-exceeded")
PanelOverlap = _refusal("PanelOverlap", "panel-overlap", conflict=True)
NamedTooLate = _refusal("NamedTooLate", "rotating-member-named-too-late")
PanelIncomplete = _refusal("PanelIncomplete", "panel-incomplete", conflict=True)
WrongNumberOfChoices = _refusal("WrongNumberOfChoices", "wrong-number-of-choices")
RepeatedChoice = _refusal("RepeatedChoice", "repeated-choice")
NotACandidate = _refusal("NotACandidate", "not-a-candidate")
UnknownFactor = _refusal("UnknownFactor", "unknown-consideration-factor")


# --- quarters, periods and the schedule ---------------------------------------------------------

QUARTERS_PER_YEAR = 4
QUARTERLY: tuple[Frequency, ...] = ("quarterly",)
ANY_FREQUENCY: tuple[Frequency, ...] = ("monthly", "quarterly", "annual")


def _period(text: str, *, field: str, noun: str, frequencies: Collection[Frequency]) -> ReportPeriod:
    """``text`` as a reporting period, or ``InvalidQuarter`` (E2). A round reads the quarter before
    its own and is scheduled in the quarter after: the years kept are those whose neighbours are
    dates too (the parser's default bounds)."""
    try:
        return parse_period(
            text, rule="E2", kind="invalid-quarter", field=field, noun=noun, frequencies=frequencies
        )
    except RuleViolation as exc:
        raise InvalidQuarter(exc.detail, field=field) from exc


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, written ``2018-Q2``: the reporting period a round judges."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        period = _period(text, field="quarter", noun="季度", frequencies=QUARTERLY)
        return cls(period.year, period.index)

    @classmethod
    def of(cls, day: date) -> Quarter:
        period = quarter_of(day)
        return cls(period.year, period.index)

    @property
    def period(self) -> ReportPeriod:
        return ReportPeriod(self.year, "quarterly", self.number)

    def __str__(self) -> str:
        return str(self.period)

    @property
    def label(self) -> str:
        """The Chinese name: 2018年第二季度."""
        return self.period.label

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, QUARTERS_PER_YEAR)
        return Quarter(self.year, self.number - 1)

    def next(self) -> Quarter:
        if self.number == QUARTERS_PER_YEAR:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)

    @property
    def first_day(self) -> date:
        return self.period.first_day

    @property
    def last_day(self) -> date:
        return self.period.last_day


def period_last_day(period: str) -> date:
    """The last day of a reporting period ``2018-05``, ``2018-Q2`` or ``2018`` (I3, E2).

    A fact about a period (a ranking, an interview for it) belongs to the quarter it ends in.
    """
    return _period(period, field="period", noun="期别", frequencies=ANY_FREQUENCY).last_day


@dataclass(frozen=True)
class RoundSchedule:
    """When the round on one quarter runs (附件4 §二): the pack by one day, the tally by another."""

    reference_pack_due: date
    tally_due: date


def schedule_for(quarter: Quarter, schedule: EvaluationSchedule) -> RoundSchedule:
    """The round on ``quarter`` runs in the schedule month of the following quarter."""
    following = quarter.next()
    months = [m for m in schedule.months if Quarter.of(date(following.year, m, 1)) == following]
    # The profile validator guarantees exactly one month per quarter.
    month = months[0]
    return RoundSchedule(
        reference_pack_due=date(following.year, month, schedule.reference_pack_by_day),
        tally_due=date(following.year, month, schedule.tally_by_day),
    )


def check_vote_day(quarter: Quarter, vote_on: date, schedule: RoundSchedule) -> None:
    """The vote falls after the quarter it judges and no later than the tally day."""
    if not quarter.last_day < vote_on <= schedule.tally_due:
        raise InvalidQuarter(
            f"投票日 {vote_on} 应在 {quarter.label}结束之后、计票截止日 {schedule.tally_due} 之前",
            field="vote_on",
        )


def check_candidates(
    codes: Sequence[str], departments: Sequence[Department], policy: EvaluationPolicy
) -> None:
    """The departments a round judges (E1): known ones that are not an office, each once, and at
    least as many as a ballot names."""
    judged = {d.code for d in departments if d.kind != "office"}
    unknown = [code for code in codes if code not in judged]
    if unknown:
        raise RuleViolation(
            f"不是可评定的部门代码：{', '.join(unknown)}", kind="unknown-department", field="candidates"
        )
    if len(set(codes)) != len(codes):
        raise RuleViolation("备评部门重复", kind="repeated-candidate", field="candidates")
    wanted = policy.choices_per_ballot
    if len(codes) < wanted:
        raise RuleViolation(
            f"备评部门不能少于每张选票须填写的 {wanted} 个",
            kind="too-few-candidates",
            rule="E1",
            field="candidates",
        )


# --- the round's state machine -----------------------------------------------------------------

RoundState = Literal["draft", "reference-published", "voting-open", "closed", "tallied", "results-published"]
Action = Literal["publish-reference-pack", "open-voting", "close-voting", "tally", "publish-results"]

STATE_LABELS: dict[RoundState, str] = {
    "draft": "草拟",
    "reference-published": "参考材料已印发",
    "voting-open": "投票中",
    "closed": "投票已截止",
    "tallied": "已计票",
    "results-published": "结果已公布",
}

TRANSITIONS: dict[Action, tuple[RoundState, RoundState]] = {
    "publish-reference-pack": ("draft", "reference-published"),
    "open-voting": ("reference-published", "voting-open"),
    "close-voting": ("voting-open", "closed"),
    "tally": ("closed", "tallied"),
    "publish-results": ("tallied", "results-published"),
}

ACTION_LABELS: dict[Action, str] = {
    "publish-reference-pack": "印发参考材料",
    "open-voting": "开始投票",
    "close-voting": "截止投票",
    "tally": "计票",
    "publish-results": "公布结果",
}

PANEL_EDITABLE: tuple[RoundState, ...] = ("draft", "reference-published")
CANDIDATES_EDITABLE: tuple[RoundState, ...] = ("draft",)
BALLOTS_VISIBLE: tuple[RoundState, ...] = ("closed", "tallied", "results-published")
RESULTS_VISIBLE: tuple[RoundState, ...] = ("tallied", "results-published")


def next_state(current: RoundState, action: Action) -> RoundState:
    source, target = TRANSITIONS[action]
    if current != source:
        raise InvalidRoundState(
            f"评定轮次处于“{STATE_LABELS[current]}”状态，不能{ACTION_LABELS[action]}"
            f"（须处于“{STATE_LABELS[source]}”状态）",
            state=current,
        )
    return target


def require_state(current: RoundState, allowed: Iterable[RoundState], doing: str) -> None:
    allowed = tuple(allowed)
    if current not in allowed:
        names = "、".join(f"“{STATE_LABELS[s]}”" for s in allowed)
        raise InvalidRoundState(
            f"评定轮次处于“{STATE_LABELS[current]}”状态，不能{doing}（须处于{names}状态）", state=current
        )


def require_preview(quarter: Quarter, *, organizer: bool) -> None:
    """Until the supervision office publishes the reference pack (E2), only organizers see it, as a
    preview of the facts as they stand."""
    if not organizer:
        raise Conflict(f"{quarter.label}的参考材料尚未印发", kind="pack-not-published", rule="E2")


def require_ballots_visible(state: RoundState) -> None:
    """The ballots are published once the vote is closed, to check receipts and recount (E5)."""
    if state not in BALLOTS_VISIBLE:
        raise Conflict("投票截止后才公布选票", kind="ballots-not-published", rule="E5")


def require_results(state: RoundState) -> None:
    """Results exist once the round is tallied (E3)."""
    if state not in RESULTS_VISIBLE:
        raise Conflict("本轮尚未计票，暂无评定结果", kind="results-not-available", rule="E3")


# --- the panel (E1) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelMember:
    """One entry of a round's panel: a person in a category (and district), voting with an account."""

    entry_id: str
    person_id: str
    name: str
    category: str
    district: str | None
    account: str
    named_on: date | None = None


def _describe(entry: PanelMember, categories: Mapping[str, PanelCategory]) -> str:
    category = categories.get(entry.category)
    where = category.name if category else entry.category
    return f"{entry.name}（{where}，条目 {entry.entry_id}）"


def check_addition(
    existing: Sequence[PanelMember],
    new: PanelMember,
    categories: Sequence[PanelCategory],
    *,
    vote_on: date,
    policy: EvaluationPolicy,
    calendar: HolidayCalendar,
) -> None:
    """Whether ``new`` may join a panel that already holds ``existing`` (附件4 §三)."""
    by_code = {c.code: c for c in categories}
    category = by_code.get(new.category)
    if category is None:
        raise UnknownCategory(
            f"未知的评定人员类别 {new.category}；可用类别: {', '.join(by_code)}", field="category"
        )
    _check_overlap(existing, new, by_code)
    _check_district(category, new)
    _check_quotas(existing, new, category, policy)
    if category.rotation != "none":
        _check_named_in_time(category, new, vote_on, policy, calendar)


def _check_overlap(
    existing: Sequence[PanelMember], new: PanelMember, categories: Mapping[str, PanelCategory]
) -> None:
    """One person appears once in a round, and one voting account belongs to one entry; a refusal
    names both entries so that the organizer can adjust either."""
    for other in existing:
        if other.person_id == new.person_id:
            field = "person_id"
            detail = (
                f"同一人员在一轮评定中只能出现一次：{_describe(new, categories)}与已列入的"
                f"{_describe(other, categories)}为同一人员（{new.person_id}），请作相应调整"
            )
        elif other.account == new.account:
            field = "account"
            detail = (
                f"投票账号 {new.account} 已分配给{_describe(other, categories)}，"
                f"不能再分配给{_describe(new, categories)}"
            )
        else:
            continue
        raise PanelOverlap(detail, field=field, entries=[other.entry_id, new.entry_id])


def _check_district(category: PanelCategory, new: PanelMember) -> None:
    districts = [q.district for q in category.district_quotas]
    if districts and new.district not in districts:
        raise DistrictMismatch(
            f"类别“{category.name}”按区分配名额，须注明所属区: {', '.join(districts)}", field="district"
        )
    if not districts and new.district is not None:
        raise DistrictMismatch(f"类别“{category.name}”不按区分配名额，不应注明区", field="district")


def _check_quotas(
    existing: Sequence[PanelMember], new: PanelMember, category: PanelCategory, policy: EvaluationPolicy
) -> None:
    """The category's quota, the share of the new member's district in it, then the panel's size."""
    same = [e for e in existing if e.category == new.category]
    limits = [(len(same), category.quota, f"类别“{category.name}”名额为 {category.quota} 名", "category")]
    if new.district is not None:
        quota = next(q.quota for q in category.district_quotas if q.district == new.district)
        named = sum(1 for e in same if e.district == new.district)
        limits.append(
            (named, quota, f"类别“{category.name}”在 {new.district} 的名额为 {quota} 名", "district")
        )
    for named, quota, what, field in limits:
        if named >= quota:
            raise QuotaExceeded(f"{what}，已满，不能再列入{new.name}", field=field)
    if len(existing) >= policy.panel_size:
        raise QuotaExceeded(f"评定人员共 {policy.panel_size} 名，已满", field="category")


def _check_named_in_time(
    category: PanelCategory,
    new: PanelMember,
    vote_on: date,
    policy: EvaluationPolicy,
    calendar: HolidayCalendar,
) -> None:
    rule = policy.rotating_members_named_before_vote
    if new.named_on is None:
        raise NamedTooLate(
            f"类别“{category.name}”为轮流安排人员，须注明统筹单位报送名单的日期 named_on", field="named_on"
        )
    try:
        named_by = last_day(new.named_on, rule.to_limit(), calendar, roll_to_working_day=False)
    except CalendarError as exc:
        raise RuleViolation(str(exc), kind="calendar-out-of-range", rule="E1", field="named_on") from exc
    if named_by > vote_on:
        unit = "个工作日" if rule.unit == "working" else "天"
        raise NamedTooLate(
            f"轮流安排的评定人员须于投票前 {rule.amount} {unit}报送：{new.name}于 {new.named_on} 报送，"
            f"投票日为 {vote_on}",
            field="named_on",
        )


@dataclass(frozen=True)
class CategoryComposition:
    code: str
    name: str
    quota: int
    named: int
    districts: tuple[tuple[str, int, int], ...]
    """(district, quota, named) for categories split by district."""


@dataclass(frozen=True)
class Composition:
    categories: tuple[CategoryComposition, ...]
    total: int
    panel_size: int
    problems: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.problems


def composition(
    entries: Sequence[PanelMember], categories: Sequence[PanelCategory], policy: EvaluationPolicy
) -> Composition:
    """The panel against the quotas of 附件4 §三: what is named and what is still missing."""
    problems: list[str] = []
    rows: list[CategoryComposition] = []
    for category in categories:
        members = [e for e in entries if e.category == category.code]
        districts = tuple(
            (q.district, q.quota, sum(1 for e in members if e.district == q.district))
            for q in category.district_quotas
        )
        rows.append(
            CategoryComposition(category.code, category.name, category.quota, len(members), districts)
        )
        if len(members) != category.quota:
            problems.append(f"“{category.name}”应为 {category.quota} 名，现有 {len(members)} 名")
        for district, quota, named in districts:
            if named != quota:
                problems.append(f"“{category.name}”{district} 应为 {quota} 名，现有 {named} 名")
    if len(entries) != policy.panel_size:
        problems.append(f"评定人员应共 {policy.panel_size} 名，现有 {len(entries)} 名")
    return Composition(tuple(rows), len(entries), policy.panel_size, tuple(problems))


def require_complete(panel: Composition) -> None:
    if not panel.complete:
        raise PanelIncomplete(
            "评定人员组成与名额不符，不能开始投票：" + "；".join(panel.problems),
            problems=list(panel.problems),
        )


# --- the ballot (E1) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One department named on a ballot, with optional factors (附件4 §四) and a reason."""

    department: str
    factors: tuple[str, ...] = ()
    reason: str | None = None


def check_ballot(
    choices: Sequence[Choice],
    candidates: Sequence[str],
    factors: Sequence[ConsiderationFactor],
    policy: EvaluationPolicy,
) -> None:
    """A ballot names exactly ``choices_per_ballot`` distinct candidates; factors must be known."""
    wanted = policy.choices_per_ballot
    if len(choices) != wanted:
        raise WrongNumberOfChoices(
            f"每张选票须预评 {wanted} 个备评部门，本票填写了 {len(choices)} 个", field="choices"
        )
    repeated = sorted(d for d, n in Counter(c.department for c in choices).items() if n > 1)
    if repeated:
        raise RepeatedChoice(f"同一部门在一张选票上只能填写一次：{', '.join(repeated)}", field="choices")
    listed = set(candidates)
    outside = [c.department for c in choices if c.department not in listed]
    if outside:
        raise NotACandidate(f"不是本轮备评部门：{', '.join(outside)}", field="choices")
    known = {f.code for f in factors}
    for choice in choices:
        unknown = sorted(set(choice.factors) - known)
        if unknown:
            raise UnknownFactor(
                f"未知的考量因素 {', '.join(unknown)}；可用: {', '.join(f.code for f in factors)}",
                field="choices.factors",
            )
        if len(set(choice.factors)) != len(choice.factors):
            raise UnknownFactor(f"考量因素重复：{choice.department}", field="choices.factors")


def check_sealed_reasons(envelopes: int, policy: EvaluationPolicy) -> None:
    """A client-encrypted ballot brings at most one sealed reason per department it names (E1)."""
    if envelopes > policy.choices_per_ballot:
        raise RuleViolation(
            f"每张选票至多附 {policy.choices_per_ballot} 份密封的事例或理由，收到 {envelopes} 份",
            kind="too-many-reasons",
            field="sealed_reasons",
        )


def check_voter(quarter: Quarter, entry_id: str | None, voters: Collection[str]) -> str:
    """The caller votes with the panel entry their account names (E1), once per round (E5);
    returns that entry."""
    if entry_id is None:
        raise RuleViolation(
            f"调用者不是{quarter.label}的评定人员", kind="not-on-panel", rule="E1", status=403
        )
    if entry_id in voters:
        raise Conflict("每名评定人员每轮只能投一票，您已投票", kind="already-voted", rule="E5")
    return entry_id


# --- the election key and its trustees (E5) ---------------------------------------------------

CeremonyStage = Literal[
    "no-trustees", "awaiting-keys", "awaiting-shares", "awaiting-confirmations", "complete"
]
TRUSTEES_EDITABLE: tuple[RoundState, ...] = ("draft", "reference-published")
KEY_CEREMONY_STATES: tuple[RoundState, ...] = ("draft", "reference-published")
DECRYPTION_STATES: tuple[RoundState, ...] = ("closed",)


@dataclass(frozen=True)
class TrusteeProgress:
    """How far one trustee is in the key ceremony."""

    index: int
    registered: bool
    dealt: bool
    confirmed: bool


def check_trustees(accounts: Sequence[str], threshold: int, policy: EvaluationPolicy) -> None:
    """A round's election key is held by at least ``min_trustees`` distinct trustees, any
    ``threshold`` of whom (at least ``min_threshold``, at most all) decrypt the tally (E5)."""
    if len(accounts) < policy.min_trustees:
        raise RuleViolation(
            f"选举密钥须由至少 {policy.min_trustees} 名受托人分持，现为 {len(accounts)} 名",
            kind="too-few-trustees",
            rule="E5",
            field="trustees",
        )
    if len(set(accounts)) != len(accounts):
        raise RuleViolation(
            "同一账号不能担任两名受托人", kind="repeated-trustee", rule="E5", field="trustees"
        )
    if not policy.min_threshold <= threshold <= len(accounts):
        raise RuleViolation(
            f"解密门限须在 {policy.min_threshold} 至受托人人数 {len(accounts)} 之间，现为 {threshold}",
            kind="invalid-threshold",
            rule="E5",
            field="threshold",
        )


def ceremony_stage(trustees: Sequence[TrusteeProgress]) -> CeremonyStage:
    """Keys first (each trustee's box key and commitments), then the sealed shares, then every
    trustee's confirmation that its shares match the commitments."""
    if not trustees:
        return "no-trustees"
    if not all(t.registered for t in trustees):
        return "awaiting-keys"
    if not all(t.dealt for t in trustees):
        return "awaiting-shares"
    if not all(t.confirmed for t in trustees):
        return "awaiting-confirmations"
    return "complete"


def require_stage(stage: CeremonyStage, wanted: CeremonyStage, doing: str) -> None:
    if stage != wanted:
        raise Conflict(
            f"密钥仪式处于 {stage} 阶段，不能{doing}（须处于 {wanted} 阶段）",
            kind="key-ceremony-out-of-order",
            rule="E5",
            stage=stage,
        )


def require_election_key(scheme: str, election_key: str | None) -> None:
    """An encrypted round opens its vote only once the trustees' key ceremony is complete (E5)."""
    if scheme == "encrypted" and election_key is None:
        raise Conflict(
            "受托人密钥仪式尚未完成，选举公钥未生成，不能开始投票",
            kind="key-ceremony-incomplete",
            rule="E5",
            field="trustees",
        )


def require_encrypted(scheme: str, doing: str) -> None:
    if scheme != "encrypted":
        raise Conflict(
            f"本轮按旧方式（明文选票）投票，不能{doing}", kind="round-cast-under-old-scheme", rule="E5"
        )


def require_threshold(decrypted_by: Collection[int], threshold: int) -> None:
    """The counts are known only once a threshold of trustees decrypted the aggregates (E3, E5)."""
    if len(decrypted_by) < threshold:
        raise Conflict(
            f"须至少 {threshold} 名受托人提交汇总密文的部分解密后才能计票，现有 {len(decrypted_by)} 名",
            kind="awaiting-trustees",
            rule="E3",
        )


def next_mix_stage(done: Collection[int], trustees: int) -> int:
    """The reasons' mix runs in trustee order: the stage after the last one posted (E5)."""
    following = len(done) + 1
    if following > trustees:
        raise Conflict("各受托人已处理完事例与理由", kind="reasons-released", rule="E5")
    return following


def require_mix_turn(following: int, trustee: int) -> None:
    if following != trustee:
        raise Conflict(f"现在轮到第 {following} 名受托人处理事例与理由", kind="not-your-mix-turn", rule="E5")


def require_mix_done(done: Collection[int], trustees: int) -> None:
    """Reasons are released only as the last stage's unordered set, never one by one (E5)."""
    if len(done) < trustees:
        raise Conflict(
            f"事例与理由须经全部 {trustees} 名受托人依次处理后才公开，现已处理 {len(done)} 步",
            kind="reasons-not-released",
            rule="E5",
        )


# --- the tally (E3) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    department: str
    votes: int
    rank: int
    selected: bool


@dataclass(frozen=True)
class Tally:
    ballots: int
    standings: tuple[Standing, ...]
    """Every candidate, most votes first (ties in candidate order)."""

    @property
    def votes(self) -> dict[str, int]:
        return {s.department: s.votes for s in self.standings}

    @property
    def selected(self) -> list[str]:
        return [s.department for s in self.standings if s.selected]


def competition_ranks(votes: Mapping[str, int]) -> dict[str, int]:
    """Standard competition ranking ("1224"): one plus the number of departments with more votes."""
    return {d: 1 + sum(1 for other in votes.values() if other > v) for d, v in votes.items()}


def select(votes: Mapping[str, int], policy: EvaluationPolicy) -> list[str]:
    """The departments selected from the vote counts (E3).

    With ``ties_at_boundary_add_seats`` every department ranked within ``selected_top`` is selected,
    so a tie at the boundary adds seats. Without it a tie that would overflow the seats is left out
    rather than settled by an arbitrary order: the rule gives no tie-break.
    """
    ranks = competition_ranks(votes)
    eligible = [
        d for d in votes if ranks[d] <= policy.selected_top and votes[d] >= policy.min_votes_to_be_selected
    ]
    if policy.ties_at_boundary_add_seats:
        return eligible
    return [d for d in eligible if sum(1 for v in votes.values() if v >= votes[d]) <= policy.selected_top]


def tally(ballots: Iterable[Sequence[str]], candidates: Sequence[str], policy: EvaluationPolicy) -> Tally:
    """Count ballots (each a list of department codes) for the round's candidates."""
    counts: Counter[str] = Counter()
    n = 0
    for ballot in ballots:
        n += 1
        counts.update(ballot)
    return tally_counts(n, counts, candidates, policy)


def tally_counts(
    ballots: int, counts: Mapping[str, int], candidates: Sequence[str], policy: EvaluationPolicy
) -> Tally:
    """Rank the round's candidates from counts already made: ``ballots`` cast, ``counts`` the times
    each department code was chosen (codes that are not candidates are ignored, as in ``tally``)."""
    n = ballots
    votes = {d: counts.get(d, 0) for d in candidates}
    ranks = competition_ranks(votes)
    chosen = set(select(votes, policy))
    order = sorted(candidates, key=lambda d: (-votes[d], candidates.index(d)))
    return Tally(n, tuple(Standing(d, votes[d], ranks[d], d in chosen) for d in order))


# --- the consequences (E4) -----------------------------------------------------------------------

Consequence = Literal["working-group-interview", "vice-mayor-interview", "designated"]

CONSEQUENCE_LABELS: dict[Consequence, str] = {
    "working-group-interview": "由“低效能”部门评定工作小组约谈",
    "vice-mayor-interview": "报请分管市长约谈主要负责人",
    "designated": "确定为“低效能”部门并通报",
}


def require_previous_tallied(quarter: Quarter, previous_state: RoundState | None) -> None:
    """A run of consecutive quarters continues the previous quarter's (E4), so a round is tallied
    after the round before it; a quarter without a round resets the runs."""
    if previous_state is not None and previous_state not in RESULTS_VISIBLE:
        raise Conflict(
            f"{quarter.previous().label}的评定尚未计票，须按季度顺序计票（连续季度的认定依赖上一季度结果）",
            kind="previous-round-not-tallied",
            rule="E4",
        )


def run_length(selected: bool, previous_run: int) -> int:
    """Consecutive selected quarters ending with this one; a quarter out of the top resets it."""
    return previous_run + 1 if selected else 0


def consequences(run: int, policy: EvaluationPolicy) -> tuple[Consequence, ...]:
    """What follows for a department selected ``run`` quarters running (E3, E4).

    Every selected department is interviewed by the working group; from the vice-mayor threshold
    the vice-mayor in charge interviews the head; from the designation threshold the department
    is designated instead (the designation supersedes the vice-mayor's interview).
    """
    if run < 1:
        return ()
    if run >= policy.designation_after_quarters:
        return ("working-group-interview", "designated")
    if run >= policy.vice_mayor_interview_after_quarters:
        return ("working-group-interview", "vice-mayor-interview")
    return ("working-group-interview",)


@dataclass(frozen=True)
class Ruling:
    """What the tally means for one candidate: its standing, its run and what follows from it."""

    standing: Standing
    run: int
    consequences: tuple[Consequence, ...]


def rulings(result: Tally, previous_runs: Mapping[str, int], policy: EvaluationPolicy) -> tuple[Ruling, ...]:
    """Each candidate's run continues its run of the previous quarter (``previous_runs``, 0 when it
    was out of the top or there was no round) and decides its consequences (E3, E4)."""
    rulings: list[Ruling] = []
    for standing in result.standings:
        run = run_length(standing.selected, previous_runs.get(standing.department, 0))
        rulings.append(Ruling(standing, run, consequences(run, policy)))
    return tuple(rulings)


def run_quarters(last: Quarter, run: int) -> list[Quarter]:
    """The ``run`` quarters running that end with ``last``, oldest first."""
    quarters = [last]
    while len(quarters) < run:
        quarters.insert(0, quarters[0].previous())
    return quarters


@dataclass(frozen=True)
class Bulletin:
    title: str
    addressed_to: tuple[str, ...]
    body: str
    issuer: str
    issued_on: date

    @property
    def text(self) -> str:
        """The bulletin as printed: title, salutation, body, issuer and date."""
        salutation = "、".join(self.addressed_to) + "："
        return "\n".join(
            [self.title, "", salutation, "    " + self.body, "", self.issuer, chinese_date(self.issued_on)]
        )


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def designation_bulletin(
    *,
    city: str,
    department: str,
    quarters: Sequence[Quarter],
    recipients: Sequence[str],
    issued_on: date,
    policy: EvaluationPolicy,
) -> Bulletin:
    """The notification of a low-efficiency designation (000 §五, 附件4 §二(三)).

    Addressed to the bodies the seed names: the city's four leadership bodies, the county and
    district governments, and all city departments and units.
    """
    spans = "、".join(q.label for q in quarters)
    body = (
        f"根据《“低效能”部门评定工作办法（试行）》，{department}在{spans}"
        f"“低效能”候选部门预评中连续{len(quarters)}个季度得票进入前{policy.selected_top}位。"
        f"经“低效能”部门评定工作小组确定，{department}为“低效能”部门，现予通报。"
        f"请{department}认真查找问题原因，明确工作目标和改进措施，切实提高行政效能。"
    )
    return Bulletin(
        title=f"关于确定{department}为“低效能”部门的通报",
        addressed_to=tuple(recipients),
        body=body,
        issuer=f"{city}人民政府办公室“低效能”部门评定工作小组",
        issued_on=issued_on,
    )


# --- facts withdrawn by a later record (E2) ----------------------------------------------------

_WITHDRAWN = "-withdrawn"


def withdrawn_kind(kind: str) -> str:
    """The kind of the fact that withdraws a ``kind`` fact (a deadline-passed-withdrawn)."""
    return kind + _WITHDRAWN


class _Fact(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def subject_id(self) -> str: ...


F = TypeVar("F", bound=_Fact)


def standing_facts(facts: Iterable[F]) -> list[F]:
    """E2: the facts a reference pack counts. A record entered later (补录) may show that a missed
    deadline was not missed: the withdrawn fact and its withdrawal both stay in the department's
    facts, and neither is counted."""
    facts = list(facts)
    withdrawn = {
        (f.kind.removesuffix(_WITHDRAWN), f.subject_id) for f in facts if f.kind.endswith(_WITHDRAWN)
    }
    return [f for f in facts if not f.kind.endswith(_WITHDRAWN) and (f.kind, f.subject_id) not in withdrawn]

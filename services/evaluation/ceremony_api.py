"""Evaluation HTTP routes of the encrypted ballot's trustees (E3, E5): naming them, the key
ceremony, the aggregates they decrypt, the public verification data, and the reasons' mix.

Trustees are members of the working group: a trustee calls with a token of the office or the
supervision office (``Organizer``) whose ``client_id`` the round's trustee list names. Their
steps are done by ``python -m services.evaluation.trustee`` on their own machine.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.evaluation.api import PUBLIC_READ, Anyone
from services.evaluation.ballot_schemas import (
    AggregateView,
    CeremonyView,
    ConfirmIn,
    MixStageIn,
    MixStageView,
    MySharesView,
    PartialDecryptionIn,
    ReleasedReasons,
    SharesIn,
    TrusteeKeyIn,
    TrusteesSet,
    VerificationData,
)
from services.evaluation.service import ceremony, reasons
from shared.deps import CtxDep, Organizer, OverseerOrEvaluator

router = APIRouter(prefix="/v1", tags=["低效能评定 evaluation"])

TRUSTEE_STEP = "调用者须为本轮受托人（评定工作小组成员，以其办公室或督查室账号）。"


@router.put(
    "/rounds/{round_id}/trustees",
    summary="设定受托人",
    description=(
        "投票开始前设定本轮选举密钥的受托人（评定工作小组成员）与解密门限：受托人不少于政策规定人数（3名），"
        "门限不少于政策规定人数（2名）且不超过受托人人数（E5）。重新设定即重新开始密钥仪式。"
    ),
)
async def set_trustees(round_id: str, body: TrusteesSet, ctx: CtxDep, principal: Organizer) -> CeremonyView:
    return await ceremony.set_trustees(ctx, round_id, body, principal)


@router.get(
    "/rounds/{round_id}/trustees",
    summary="受托人与密钥仪式",
    description="受托人名单、各自公开的承诺与份额公开值、仪式阶段与选举公钥（E5）。",
)
async def get_trustees(round_id: str, ctx: CtxDep, principal: OverseerOrEvaluator) -> CeremonyView:
    return await ceremony.ceremony(ctx, round_id)


@router.put(
    "/rounds/{round_id}/trustees/me/key",
    summary="受托人登记公钥与承诺",
    description=(
        "密钥仪式第1步：受托人在本机生成 X25519 密钥对与秘密多项式，"
        "只上传 X25519 公钥、Feldman 承诺及常数项知识证明。" + TRUSTEE_STEP
    ),
)
async def register_key(round_id: str, body: TrusteeKeyIn, ctx: CtxDep, principal: Organizer) -> CeremonyView:
    return await ceremony.register_key(ctx, round_id, principal, body)


@router.put(
    "/rounds/{round_id}/trustees/me/shares",
    summary="受托人分发密封份额",
    description=(
        "密钥仪式第2步：所有受托人登记公钥后，受托人为其他每名受托人计算份额，"
        "以接收人的 X25519 公钥密封后上传；"
        "服务只转交，无法打开。" + TRUSTEE_STEP
    ),
)
async def deal_shares(round_id: str, body: SharesIn, ctx: CtxDep, principal: Organizer) -> CeremonyView:
    return await ceremony.deal_shares(ctx, round_id, principal, body)


@router.get(
    "/rounds/{round_id}/trustees/me/shares",
    summary="受托人领取密封份额",
    description="所有受托人分发份额后，领取以本人公钥密封的份额，在本机打开并按 Feldman 承诺核验。"
    + TRUSTEE_STEP,
)
async def my_shares(round_id: str, ctx: CtxDep, principal: Organizer) -> MySharesView:
    return await ceremony.my_shares(ctx, round_id, principal)


@router.put(
    "/rounds/{round_id}/trustees/me/confirmation",
    summary="受托人确认份额",
    description=(
        "密钥仪式第3步：受托人核验全部份额后提交其密钥份额的公开值；全部确认后生成选举公钥，密封份额随即删除。"
        + TRUSTEE_STEP
    ),
)
async def confirm(round_id: str, body: ConfirmIn, ctx: CtxDep, principal: Organizer) -> CeremonyView:
    return await ceremony.confirm(ctx, round_id, principal, body)


@router.get(
    "/rounds/{round_id}/aggregate",
    summary="各部门汇总密文",
    description="投票截止后，每个备评部门全部加密选票之积（汇总密文），受托人只解密它们，从不解密单张选票（E3、E5）。",
)
async def get_aggregate(round_id: str, ctx: CtxDep, principal: OverseerOrEvaluator) -> AggregateView:
    return await ceremony.aggregate(ctx, round_id)


@router.put(
    "/rounds/{round_id}/trustees/me/partial-decryption",
    summary="受托人提交部分解密",
    description=(
        "投票截止后，受托人对每个部门的汇总密文提交部分解密及其 Chaum–Pedersen 证明，服务逐一核验；"
        "达到门限后方可计票（E3、E5）。" + TRUSTEE_STEP
    ),
)
async def submit_partial(
    round_id: str, body: PartialDecryptionIn, ctx: CtxDep, principal: Organizer
) -> dict[str, Any]:
    return await ceremony.submit_partial(ctx, round_id, principal, body)


@router.get(
    "/rounds/{round_id}/verification",
    openapi_extra=PUBLIC_READ,
    summary="加密计票核验数据",
    description=(
        "重新计票所需的全部公开数据：受托人承诺、选举公钥、每张加密选票及追踪码、汇总密文、部分解密及证明、公布的得票。"
        "用 `python -m services.evaluation.verify` 核验，无须信任本服务（E3、E5）。"
        "结果公布前限评定人员、领导和组织者查阅，公布后公开。"
    ),
)
async def verification(round_id: str, ctx: CtxDep, principal: Anyone) -> VerificationData:
    return await ceremony.verification_data(ctx, round_id, principal)


@router.get(
    "/rounds/{round_id}/reasons/mix",
    summary="受托人领取待处理的事例与理由",
    description=(
        "投票截止后，受托人按序号依次处理密封的事例与理由：领取上一步的输出（第1步为各密封信封，顺序随机）。"
        + TRUSTEE_STEP
    ),
)
async def get_mix_stage(round_id: str, ctx: CtxDep, principal: Organizer) -> MixStageView:
    return await reasons.mix_stage(ctx, round_id, principal)


@router.put(
    "/rounds/{round_id}/reasons/mix",
    summary="受托人提交本步处理结果",
    description=(
        "受托人在本机去掉本人一层密封、打乱顺序后提交，项数须与上一步相同；最后一名受托人提交解开的内容（E5）。"
        + TRUSTEE_STEP
    ),
)
async def put_mix_stage(round_id: str, body: MixStageIn, ctx: CtxDep, principal: Organizer) -> MixStageView:
    return await reasons.post_stage(ctx, round_id, principal, body)


@router.get(
    "/rounds/{round_id}/reasons",
    summary="事例与理由（无序集合）",
    description=(
        "全部受托人依次处理后，评定工作小组查阅本轮全部事例与理由：作为无序集合按内容排序，"
        "不对应任何选票或评定人员，也从不逐份公开（E1、E5）。"
    ),
)
async def get_reasons(round_id: str, ctx: CtxDep, principal: Organizer) -> ReleasedReasons:
    return await reasons.released(ctx, round_id)

"""HTTP contract of the encrypted secret ballot (E3, E5): trustees and their key ceremony, encrypted
ballots, partial decryptions of the aggregates, and the public verification data.

Group elements and scalars are 64 hexadecimal characters (32 bytes, see ``shared.ballot_crypto``);
sealed shares and envelopes are base64 of libsodium sealed boxes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.schemas import RowModel

Hex32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Sealed = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[A-Za-z0-9+/=]+$")]

POINT_EXAMPLE = "5866666666666666666666666666666666666666666666666666666666666666"
SCALAR_EXAMPLE = "0100000000000000000000000000000000000000000000000000000000000000"


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- trustees and the key ceremony ----------------------------------------------------------


class TrusteeIn(Input):
    account: ShortText = Field(
        description="受托人的客户端编号（访问令牌的 client_id），须为评定工作小组成员（办公室或督查室）",
        examples=["wg-li"],
    )
    name: ShortText = Field(examples=["李四"])


class TrusteesSet(Input):
    threshold: int = Field(ge=1, le=32, description="解密计票所需的受托人人数（门限）", examples=[2])
    trustees: list[TrusteeIn] = Field(min_length=1, max_length=32, description="本轮选举密钥的受托人")


class TrusteeView(RowModel):
    index: int = Field(description="受托人序号（从1起，即其 Shamir 份额的横坐标）", examples=[1])
    account: str = Field(examples=["wg-li"])
    name: str = Field(examples=["李四"])
    box_key: str | None = Field(default=None, description="受托人接收份额的 X25519 公钥", examples=[None])
    commitments: list[str] | None = Field(default=None, description="Feldman 承诺（多项式系数乘基点）")
    constant_proof: list[str] | None = Field(default=None, description="常数项知识的 Schnorr 证明 (c, s)")
    public_share: str | None = Field(default=None, description="受托人密钥份额的公开值 Y_j（承诺齐备后可算）")
    confirmed: bool = Field(description="受托人已核验收到的全部份额")
    registered_at: datetime | None = None
    dealt_at: datetime | None = None
    confirmed_at: datetime | None = None


class CeremonyView(BaseModel):
    round_id: str = Field(examples=["2018-Q2"])
    scheme: str = Field(description="encrypted：加密选票；plain：按旧方式投票的轮次", examples=["encrypted"])
    threshold: int | None = Field(default=None, examples=[2])
    stage: str = Field(
        description="no-trustees → awaiting-keys → awaiting-shares → awaiting-confirmations → complete",
        examples=["complete"],
    )
    election_key: str | None = Field(
        default=None,
        description="选举公钥（各受托人常数项承诺之和），仪式完成后才有",
        examples=[POINT_EXAMPLE],
    )
    trustees: list[TrusteeView]


class TrusteeKeyIn(Input):
    box_key: Hex32 = Field(description="受托人本地生成的 X25519 公钥（私钥只在受托人本机）")
    commitments: list[Hex32] = Field(min_length=1, max_length=32, description="Feldman 承诺，个数等于门限")
    constant_proof: list[Hex32] = Field(min_length=2, max_length=2, description="常数项知识证明 (c, s)")


class SealedShareIn(Input):
    recipient: int = Field(ge=1, examples=[2])
    sealed: Sealed = Field(description="以接收人 X25519 公钥密封的份额（服务无法打开）")


class SharesIn(Input):
    shares: list[SealedShareIn] = Field(min_length=1, max_length=32)


class SealedShareView(BaseModel):
    dealer: int = Field(examples=[1])
    sealed: str


class MySharesView(BaseModel):
    round_id: str
    recipient: int
    shares: list[SealedShareView]


class ConfirmIn(Input):
    public_share: Hex32 = Field(description="受托人由收到的份额算出的 Y_j = x_j·G，须与承诺一致")


# --- encrypted ballots -----------------------------------------------------------------------


class EncryptedChoiceIn(Input):
    department: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(examples=["jxw"])
    alpha: Hex32 = Field(examples=[POINT_EXAMPLE])
    beta: Hex32 = Field(examples=[POINT_EXAMPLE])
    proof: list[Hex32] = Field(min_length=4, max_length=4, description="0/1 的 CDS 证明 (c0, c1, s0, s1)")


class EncryptedBallotIn(Input):
    round_id: str = Field(examples=["2018-Q2"])
    choices: list[EncryptedChoiceIn] = Field(
        min_length=1, max_length=256, description="按本轮备评部门顺序，每个部门一项 0/1 密文"
    )
    sum_proof: list[Hex32] = Field(
        min_length=2, max_length=2, description="各项之和等于规定个数的证明 (c, s)"
    )


class PartialShareIn(Input):
    share: Hex32 = Field(description="D_j = x_j·A")
    proof: list[Hex32] = Field(
        min_length=2, max_length=2, description="log_G(Y_j) = log_A(D_j) 的证明 (c, s)"
    )


class PartialDecryptionIn(Input):
    shares: dict[str, PartialShareIn] = Field(description="每个备评部门汇总密文的部分解密")


class AggregateView(BaseModel):
    round_id: str
    election_key: str
    ballots: int = Field(description="汇总的加密选票张数", examples=[100])
    aggregate: dict[str, dict[str, str]] = Field(description="每个备评部门的汇总密文 {alpha, beta}")


class PartialDecryptionView(RowModel):
    trustee_index: int
    shares: dict[str, Any]
    submitted_at: datetime


class VerificationData(BaseModel):
    """Everything the verifier needs to recount the round without trusting the service."""

    round_id: str = Field(examples=["2018-Q2"])
    scheme: str = Field(examples=["encrypted"])
    candidates: list[str]
    choices_per_ballot: int = Field(examples=[3])
    threshold: int = Field(examples=[2])
    trustees: list[dict[str, Any]] = Field(description="受托人序号、Feldman 承诺与常数项证明")
    election_key: str
    ballots: list[dict[str, Any]] = Field(description="每张加密选票及其追踪码 {tracker, ballot}")
    aggregate: dict[str, dict[str, str]]
    partial_decryptions: list[dict[str, Any]] = Field(description="受托人对汇总密文的部分解密与证明")
    counts: dict[str, int] | None = Field(default=None, description="公布的各部门得票（计票后）")


# --- reasons: the trustees' decryption mix ----------------------------------------------------


class MixStageView(BaseModel):
    round_id: str
    trustees: int = Field(description="受托人人数（混洗步数）", examples=[3])
    next_trustee: int = Field(description="下一步由第几名受托人处理", examples=[2])
    items: list[str] = Field(description="上一步的输出：仍密封的事例与理由（base64），顺序已打乱")


class MixStageIn(Input):
    stage: int = Field(ge=1, description="本步序号，即提交人的受托人序号", examples=[2])
    items: list[Annotated[str, StringConstraints(max_length=16384)]] = Field(
        max_length=1000, description="去掉本人一层后打乱的各项；最后一步为解开的事例与理由（JSON 文本）"
    )


class ReleasedReasons(BaseModel):
    round_id: str
    reasons: list[dict[str, Any]] = Field(
        description="全部事例与理由（部门、考量因素、理由）作为无序集合，按内容排序，不对应任何选票",
        examples=[
            [{"department": "jxw", "factors": ["buck-passing-and-delay"], "reason": "会办事项多次逾期"}]
        ],
    )

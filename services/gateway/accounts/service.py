"""Client account use cases: create, list, read, change (roles, department, name, enabled),
delete, rotate the secret, import a batch, read the change log.

Every change is one transaction with its entry in ``api_client_changes`` (who, when, what; never
a secret). A change that ends a client's tokens (disable, new secret, roles or department) moves
its ``token_generation`` on and is forgotten by this gateway's registry at once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.gateway import clients, domain
from services.gateway.accounts import schemas
from services.gateway.clients import Registry, change_row
from services.gateway.runtime import GatewayRuntime
from services.gateway.tables import api_client_changes, api_clients
from shared import reference
from shared.auth import Principal
from shared.pagination import Keyset, PageParams
from shared.problems import Problem
from shared.rules import Conflict, Missing, RuleViolation

C, L = api_clients, api_client_changes
CLIENT_ORDER = Keyset(C.c.created_at, C.c.client_id, descending=False)
CHANGE_ORDER = Keyset(L.c.at, L.c.id)
_CREATE = TypeAdapter(schemas.ClientCreate)
CSV_COLUMNS = ("client_id", "name", "roles", "department")


@dataclass(frozen=True)
class Accounts:
    rt: GatewayRuntime
    registry: Registry


def _view(row: Any) -> schemas.ClientView:
    return schemas.ClientView.of(row, enabled=row.disabled_at is None)


def _check(roles: Iterable[str], department: str | None) -> None:
    domain.check_account(
        list(roles),
        department,
        {d.code for d in reference.departments()},
        {leader.code for leader in reference.leaders()},
    )


def _unknown(client_id: str) -> Missing:
    return Missing(f"客户端 {client_id} 不存在", kind="unknown-client", field="client_id")


def _taken(client_id: str) -> Conflict:
    return Conflict(f"客户端编号 {client_id} 已存在", kind="client-exists", field="client_id")


async def create(acc: Accounts, body: schemas.ClientCreate, actor: Principal) -> schemas.ClientCreated:
    _check(body.roles, body.department)
    secret = clients.new_secret()
    now = acc.rt.clock()
    values = {
        **body.model_dump(),
        "secret_hash": clients.hash_secret(secret, generated=True),
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with acc.rt.db.transaction() as session:
            row = (await session.execute(insert(C).values(**values).returning(C))).one()
            await session.execute(
                insert(L).values(
                    change_row(body.client_id, "created", actor.client_id, now, body.model_dump())
                )
            )
    except IntegrityError as exc:
        raise _taken(body.client_id) from exc
    return schemas.ClientCreated.of(row, enabled=True, client_secret=secret)


async def list_clients(acc: Accounts, page: PageParams, role: str | None) -> schemas.ClientPage:
    query = select(C)
    if role is not None:
        query = query.where(C.c.roles.contains([role]))
    async with acc.rt.db.reader() as session:
        rows, cursor = CLIENT_ORDER.cut((await session.execute(CLIENT_ORDER.apply(query, page))).all(), page)
    return schemas.ClientPage(items=[_view(r) for r in rows], next_cursor=cursor)


async def get(acc: Accounts, client_id: str) -> schemas.ClientView:
    async with acc.rt.db.reader() as session:
        row = (await session.execute(select(C).where(C.c.client_id == client_id))).first()
    if row is None:
        raise _unknown(client_id)
    return _view(row)


def _changes(row: Any, body: schemas.ClientUpdate) -> dict[str, Any]:
    """The fields ``body`` really changes, with their new values (``department: null`` clears it)."""
    given = body.model_dump(include=body.model_fields_set)
    current = {
        "name": row.name,
        "roles": list(row.roles),
        "department": row.department,
        "enabled": row.disabled_at is None,
    }
    return {k: v for k, v in given.items() if (v is not None or k == "department") and v != current[k]}


async def update_client(
    acc: Accounts, client_id: str, body: schemas.ClientUpdate, actor: Principal
) -> schemas.ClientView:
    now = acc.rt.clock()
    async with acc.rt.db.transaction() as session:
        row = (await session.execute(select(C).where(C.c.client_id == client_id).with_for_update())).first()
        if row is None:
            raise _unknown(client_id)
        changes = _changes(row, body)
        if not changes:
            return _view(row)
        roles = changes.get("roles", list(row.roles))
        department = changes.get("department", row.department)
        _check(roles, department)
        domain.check_own_account(
            actor.client_id, client_id, removes_admin=changes.get("enabled") is False or "admin" not in roles
        )
        values: dict[str, Any] = {k: v for k, v in changes.items() if k != "enabled"}
        if "enabled" in changes:
            values["disabled_at"] = None if changes["enabled"] else now
        # Disabling, or new roles or department, ends the tokens issued before (they carry the old claims).
        if changes.get("enabled") is False or {"roles", "department"} & changes.keys():
            values["token_generation"] = C.c.token_generation + 1
        values["updated_at"] = now
        row = (
            await session.execute(update(C).where(C.c.client_id == client_id).values(**values).returning(C))
        ).one()
        action = {False: "disabled", True: "enabled"}.get(changes.get("enabled"), "updated")  # type: ignore[arg-type]
        await session.execute(insert(L).values(change_row(client_id, action, actor.client_id, now, changes)))
    acc.registry.forget(client_id)
    return _view(row)


async def delete_client(acc: Accounts, client_id: str, actor: Principal) -> None:
    domain.check_own_account(actor.client_id, client_id, removes_admin=True)
    now = acc.rt.clock()
    async with acc.rt.db.transaction() as session:
        row = (await session.execute(delete(C).where(C.c.client_id == client_id).returning(C))).first()
        if row is None:
            raise _unknown(client_id)
        what = {"name": row.name, "roles": list(row.roles), "department": row.department}
        await session.execute(insert(L).values(change_row(client_id, "deleted", actor.client_id, now, what)))
    acc.registry.forget(client_id)


async def rotate_secret(acc: Accounts, client_id: str, actor: Principal) -> schemas.ClientSecret:
    secret = clients.new_secret()
    now = acc.rt.clock()
    async with acc.rt.db.transaction() as session:
        found = await session.execute(
            update(C)
            .where(C.c.client_id == client_id)
            .values(
                secret_hash=clients.hash_secret(secret, generated=True),
                token_generation=C.c.token_generation + 1,
                updated_at=now,
            )
            .returning(C.c.client_id)
        )
        if found.first() is None:
            raise _unknown(client_id)
        change = change_row(client_id, "secret-rotated", actor.client_id, now, {"secret": "rotated"})
        await session.execute(insert(L).values(change))
    acc.registry.forget(client_id)
    return schemas.ClientSecret(client_id=client_id, client_secret=secret)


# --- bulk import ------------------------------------------------------------------------------


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Accounts from CSV with the header ``client_id,name,roles,department``; several roles are
    separated by spaces, ``;`` or ``|`` (or commas inside quotes)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or not {"client_id", "name", "roles"} <= {
        f.strip() for f in reader.fieldnames
    }:
        raise Problem(
            422,
            f"CSV 第一行须为表头 {','.join(CSV_COLUMNS)}（department 可省略）",
            kind="client-import-invalid",
            errors=[{"row": 0, "field": "header", "message": "缺少 client_id、name 或 roles 列"}],
        )
    rows = []
    for record in reader:
        row: dict[str, Any] = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
        roles = row.get("roles", "")
        row["roles"] = [r for r in roles.replace(",", " ").replace(";", " ").replace("|", " ").split()]
        row["department"] = row.get("department") or None
        rows.append(row)
    return rows


def parse_json(body: bytes) -> list[dict[str, Any]]:
    try:
        batch = schemas.ClientImport.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"loc": (), "msg": str(exc)}]
        message = "；".join(
            f"{'.'.join(str(p) for p in e['loc']) or '请求体'}: {e['msg']}" for e in errors[:5]
        )
        raise Problem(
            422, f'导入内容应为 {{"clients": [...]}}：{message}', kind="client-import-invalid", errors=[]
        ) from exc
    return batch.clients


def _row_errors(
    number: int, raw: Mapping[str, Any], seen: set[str]
) -> tuple[schemas.ClientCreate | None, list[schemas.ImportError]]:
    client_id = raw.get("client_id") if isinstance(raw.get("client_id"), str) else None

    def error(field: str, message: str) -> schemas.ImportError:
        return schemas.ImportError(row=number, client_id=client_id, field=field, message=message)

    try:
        account = _CREATE.validate_python(raw)
    except ValidationError as exc:
        return None, [error(".".join(str(p) for p in e["loc"]) or "row", e["msg"]) for e in exc.errors()]
    try:
        _check(account.roles, account.department)
    except RuleViolation as exc:
        return None, [error(exc.field or "row", exc.detail)]
    if account.client_id in seen:
        return None, [error("client_id", f"客户端编号 {account.client_id} 在本次导入中重复")]
    seen.add(account.client_id)
    return account, []


async def import_clients(acc: Accounts, rows: list[dict[str, Any]], actor: Principal) -> schemas.ImportResult:
    """All the accounts or none: every row is checked first, each refusal naming its row and field."""
    if not 1 <= len(rows) <= schemas.MAX_IMPORT:
        raise Problem(
            422,
            f"一次导入 1 至 {schemas.MAX_IMPORT} 个账户，收到 {len(rows)} 个",
            kind="client-import-invalid",
            errors=[],
        )
    seen: set[str] = set()
    accounts: list[schemas.ClientCreate] = []
    errors: list[schemas.ImportError] = []
    for number, raw in enumerate(rows, start=1):
        account, refused = _row_errors(number, raw, seen)
        errors.extend(refused)
        if account is not None:
            accounts.append(account)
    if not errors:
        async with acc.rt.db.reader() as session:
            taken = set(
                (await session.execute(select(C.c.client_id).where(C.c.client_id.in_(seen)))).scalars()
            )
        errors = [
            schemas.ImportError(
                row=n, client_id=a.client_id, field="client_id", message=f"客户端编号 {a.client_id} 已存在"
            )
            for n, a in enumerate(accounts, start=1)
            if a.client_id in taken
        ]
    if errors:
        _refuse(errors)
    secrets_ = [clients.new_secret() for _ in accounts]
    # 256-bit generated secrets: one HMAC each, milliseconds for a whole panel (clients.hash_secret).
    hashes = await asyncio.to_thread(lambda: [clients.hash_secret(s, generated=True) for s in secrets_])
    now = acc.rt.clock()
    try:
        async with acc.rt.db.transaction() as session:
            await session.execute(
                insert(C),
                [
                    {**a.model_dump(), "secret_hash": h, "created_at": now, "updated_at": now}
                    for a, h in zip(accounts, hashes, strict=True)
                ],
            )
            await session.execute(
                insert(L),
                [change_row(a.client_id, "imported", actor.client_id, now, a.model_dump()) for a in accounts],
            )
    except IntegrityError as exc:
        raise Conflict(
            "导入期间有客户端编号被占用，未导入任何账户，请重试", kind="client-exists", field="client_id"
        ) from exc
    return schemas.ImportResult(
        imported=len(accounts),
        clients=[
            schemas.ClientSecret(client_id=a.client_id, client_secret=s)
            for a, s in zip(accounts, secrets_, strict=True)
        ],
    )


def _refuse(errors: list[schemas.ImportError]) -> None:
    shown = "；".join(
        f"第 {e.row} 行{f'（{e.client_id}）' if e.client_id else ''} 字段 {e.field}: {e.message}"
        for e in errors[:5]
    )
    more = f"；另有 {len(errors) - 5} 处" if len(errors) > 5 else ""
    raise Problem(
        422,
        f"未导入任何账户：{shown}{more}",
        kind="client-import-invalid",
        errors=[e.model_dump() for e in errors],
    )


async def changes(acc: Accounts, page: PageParams, client_id: str | None) -> schemas.ClientChangePage:
    query = select(L)
    if client_id is not None:
        query = query.where(L.c.client_id == client_id)
    async with acc.rt.db.reader() as session:
        rows, cursor = CHANGE_ORDER.cut((await session.execute(CHANGE_ORDER.apply(query, page))).all(), page)
    return schemas.ClientChangePage(
        items=[schemas.ClientChange.model_validate(r) for r in rows], next_cursor=cursor
    )

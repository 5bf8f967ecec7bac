"""The base of response schemas read from database rows: ``RowModel.model_validate(row)``, and
the one style every answer and event writes instants in: Asia/Shanghai (``+08:00``).

With ``from_attributes`` a row (or any object) becomes its schema by field name, instead of a
constructor call that copies each column by hand. Fields a view computes are passed as
``model_validate(row).model_copy(update=...)`` or through ``RowModel.of(row, **computed)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, SerializationInfo, SerializerFunctionWrapHandler, field_serializer

from shared.deadlines import local


class ShanghaiInstants(BaseModel):
    """Instants are written in Asia/Shanghai, where deadlines are counted: the database returns UTC
    and a client may send ``Z``, but every answer and event says ``+08:00`` (the schema is unchanged)."""

    # No return annotation on purpose: pydantic would take it as every field's serialized schema
    # (Any makes the OpenAPI and event schemas empty); without one each field keeps its own.
    @field_serializer("*", mode="wrap")
    def _in_shanghai(  # type: ignore[no-untyped-def]
        self, value: Any, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = local(value)
        return handler(value)


class RowModel(ShanghaiInstants):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, row: Any, **computed: Any) -> Self:
        """The schema of ``row``; ``computed`` gives or overrides fields the row does not hold as is."""
        if not computed:
            return cls.model_validate(row)
        fields = {
            name: getattr(row, name)
            for name in cls.model_fields
            if name not in computed and hasattr(row, name)
        }
        return cls.model_validate({**fields, **computed})

"""The base of response schemas read from database rows: ``RowModel.model_validate(row)``.

With ``from_attributes`` a row (or any object) becomes its schema by field name, instead of a
constructor call that copies each column by hand. Fields a view computes are passed as
``model_validate(row).model_copy(update=...)`` or through ``RowModel.of(row, **computed)``.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class RowModel(BaseModel):
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

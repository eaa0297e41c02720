"""Field types the API's schemas share.

Decimal amounts are published as strings with a pattern (``"20000"``, ``"1500.50"``): pydantic's own schema for a
``Decimal`` is "any number or numeric string", which promises more than ``max_digits``/``decimal_places`` accept —
a generated ``1e-07`` is schema-valid and refused. The pattern states exactly what is accepted; the value arrives
in the service as a ``Decimal`` (numbers are still taken).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, WithJsonSchema

MONEY_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
HOURS_PATTERN = r"^[0-9]{1,4}(\.[0-9])?$"

# Yuan with at most two decimals, 0 to 9,999,999,999.99.
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2),
                  WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "maxLength": 13,
                                  "examples": ["20000", "1500.50"]})]
# Hours with at most one decimal, 0 to 9,999.9.
Hours = Annotated[Decimal, Field(ge=0, max_digits=5, decimal_places=1),
                  WithJsonSchema({"type": "string", "pattern": HOURS_PATTERN, "maxLength": 6,
                                  "examples": ["2", "1.5"]})]

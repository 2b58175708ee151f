"""Plans compiled on demand, one per (height, width, dtype), least recently used dropped first:
hosts hand drop-ins latents of whatever size the user picked, and a plan is fixed-size."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Tuple

from ._taec import Model, Plan

Key = Tuple[int, int, str]


class PlanCache:
    def __init__(self, model: Model, max_plans: int, **compile_options: Any) -> None:
        if max_plans < 1:
            raise ValueError("max_plans must be at least 1")
        self.model = model
        self.max_plans = max_plans
        self.compile_options: Dict[str, Any] = compile_options
        self._plans: "OrderedDict[Key, Plan]" = OrderedDict()
        self.compiled = 0  # how many plans were ever compiled (tests check the cache with it)

    def get(self, height: int, width: int, dtype: str) -> Plan:
        key = (height, width, dtype)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            return plan
        plan = self.model.compile(height, width, dtype=dtype, layout="nchw", **self.compile_options)
        self.compiled += 1
        self._plans[key] = plan
        while len(self._plans) > self.max_plans:
            self._plans.popitem(last=False)
        return plan

    @property
    def sizes(self) -> "list[Key]":
        return list(self._plans)


def dtype_name(x: Any) -> str:
    """numpy's or torch's dtype of x as taec names it ("float32", "float16", "bfloat16")."""
    name = str(x.dtype)
    return name[len("torch."):] if name.startswith("torch.") else name

"""A Jinja sandbox with bounds, for the mail templates administrators write.

Jinja's own sandbox stops attribute tricks, not work: ``{{ 'x' * 300000000 }}`` or two
nested loops over ``range(100000)`` tied up a worker. Here every render has a budget:

- **values and output**: no string or list built by an operator, a ``~`` or the render
  itself may exceed ``MAX_CHARS``; sizes are checked *before* the operation, so the
  memory is never spent;
- **steps**: loop iterations, calls and filters together stay under ``Limits.steps``
  (a ``range`` too);
- **time**: every step, operator and output chunk checks a deadline of ``Limits.seconds``.

What makes a value large in one step from a small argument (padding, repeating, joining,
replacing, ``%`` formatting, list mutation) is not available; every filter and method left
returns at most a small multiple of its input, and its result is measured before the next
step, so chaining them cannot grow a value past the bound either. Blocks that collect output
out of the render's sight (macros, ``{% set %}…{% endset %}``, ``{% filter %}``) are refused.
"""

from __future__ import annotations

import operator
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps

from jinja2 import nodes
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError


@dataclass(frozen=True)
class Limits:
    chars: int = 100_000  # a long letter is 10 000 characters
    steps: int = 10_000
    seconds: float = 2.0
    source_chars: int = 50_000
    int_bits: int = 4096


LIMITS = Limits()

SAFE_FILTERS = frozenset({
    "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "forceescape", "int", "last",
    "length", "list", "lower", "max", "min", "reverse", "round", "safe", "sort", "string", "striptags", "sum",
    "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
})
SAFE_STR_METHODS = frozenset({
    "capitalize", "count", "endswith", "find", "isdigit", "lower", "lstrip", "rstrip", "split", "startswith",
    "strip", "title", "upper",
})


class LimitExceeded(Exception):
    """A bound was reached; the message says which, in Vietnamese."""


@dataclass
class Budget:
    limits: Limits
    deadline: float = field(init=False)
    steps: int = 0

    def __post_init__(self):
        self.deadline = time.monotonic() + self.limits.seconds

    def tick(self, steps: int = 0) -> None:
        self.steps += steps
        if self.steps > self.limits.steps:
            raise self.too_many_steps()
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"điền mẫu mất quá {self.limits.seconds:g} giây".replace(".", ","))

    def too_many_steps(self) -> LimitExceeded:
        return LimitExceeded(f"vượt quá {self.limits.steps:,} bước lặp hoặc lời gọi".replace(",", "."))

    def check_size(self, chars: int) -> None:
        if chars > self.limits.chars:
            raise LimitExceeded(f"nội dung vượt quá {self.limits.chars:,} ký tự".replace(",", "."))


_budget: ContextVar[Budget] = ContextVar("mail_template_budget")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: _measured(f) for name, f in self.filters.items() if name in SAFE_FILTERS}
        # No lipsum (text of any length), namespace (state carried across iterations) nor cycler.
        self.globals = {"range": self.bounded_range}

    # -- compiling: loops and ~ go through the budget ---------------------------------------

    def bounded_template(self, source: str):
        if len(source) > LIMITS.source_chars:
            raise LimitExceeded(f"mẫu dài quá {LIMITS.source_chars:,} ký tự".replace(",", "."))
        tree = self.parse(source)
        for _node in tree.find_all((nodes.Macro, nodes.CallBlock, nodes.AssignBlock, nodes.FilterBlock)):
            raise SecurityError("mẫu thư không dùng macro, {% call %}, {% set %}…{% endset %} hay {% filter %}")
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("counted"), [loop.iter], [], None, None,
                                   lineno=loop.lineno)
        for concat in list(tree.find_all(nodes.Concat)):
            _replace(tree, concat, nodes.Call(nodes.EnvironmentAttribute("bounded_concat"),
                                              [nodes.List(concat.nodes, lineno=concat.lineno)], [], None, None,
                                              lineno=concat.lineno))
        return self.from_string(tree)

    def counted(self, iterable):
        budget = _budget.get()
        for item in iterable:
            budget.tick(1)
            yield item

    def bounded_concat(self, parts):
        parts = [part if isinstance(part, str) else str(part) for part in parts]
        _budget.get().check_size(sum(map(len, parts)))
        return (markup_join if self.autoescape else str_join)(parts)

    def bounded_range(self, *args):
        values = range(*args)
        budget = _budget.get()
        if len(values) > budget.limits.steps:  # its walk is counted by the loop; this bounds filters (sum, list)
            raise budget.too_many_steps()
        return values

    # -- running: operators, calls and attributes ---------------------------------------------

    def call_binop(self, context, operator_: str, left, right):
        budget = _budget.get()
        budget.tick()
        if operator_ == "%" and isinstance(left, str):
            raise SecurityError("không dùng phép % với chuỗi")
        if operator_ == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    budget.check_size(len(sequence) * max(times, 0))
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > LIMITS.int_bits:
                raise LimitExceeded("số quá lớn")
        if operator_ == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            budget.check_size(len(left) + len(right))
        if operator_ == "**" and isinstance(left, int) and isinstance(right, int) and \
                left.bit_length() * abs(right) > LIMITS.int_bits:
            raise LimitExceeded("số quá lớn")
        return _BINOPS[operator_](left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        result = super().call(__context, __obj, *args, **kwargs)
        _measure(result)
        return result

    def is_safe_attribute(self, obj, attr: str, value) -> bool:
        if isinstance(obj, str) and callable(value) and attr not in SAFE_STR_METHODS:
            return False  # ljust, center, zfill, join, replace, format...: sizes the sandbox cannot see
        return super().is_safe_attribute(obj, attr, value)


def _measure(result) -> None:
    budget = _budget.get()
    budget.tick(1)
    if isinstance(result, (str, list, tuple, dict)):
        budget.check_size(len(result))


def _measured(function):
    @wraps(function)  # keeps jinja_pass_arg, so context-taking filters still get their context
    def measured(*args, **kwargs):
        result = function(*args, **kwargs)
        _measure(result)
        return result

    return measured


_BINOPS = {"*": operator.mul, "**": operator.pow, "+": operator.add, "%": operator.mod}


def _replace(tree: nodes.Node, old: nodes.Node, new: nodes.Node) -> None:
    """Put ``new`` where ``old`` is in ``tree`` (Jinja's nodes have no parent links)."""
    for node in tree.find_all(nodes.Node):
        for name, value in node.iter_fields():
            if value is old:
                setattr(node, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                setattr(node, name, [new if item is old else item for item in value])
                return


def render_bounded(template, context: dict, limits: Limits | None = None) -> str:
    """Render under a fresh budget; LimitExceeded names the bound reached."""
    budget = Budget(limits or LIMITS)
    token = _budget.set(budget)
    try:
        out, size = [], 0
        for chunk in template.generate(context):
            size += len(chunk)
            budget.check_size(size)
            budget.tick()
            out.append(chunk)
        return "".join(out)
    finally:
        _budget.reset(token)

"""IAM's evaluation of identity policies, for one request at a time (scripts/iam-check).

A request is allowed when no statement that applies to it denies it and at least one that
applies allows it. A statement applies when its Action (or NotAction), its Resource (or
NotResource) and every condition in its Condition block match:

* actions: `service:Action` with `*` and `?`, case-insensitive;
* resources: `*`, or an ARN pattern matched segment by segment (partition, service,
  region, account: wildcards stay within their segment; the resource part: `*` spans `/`
  and `:`), case-sensitive; `${key}` policy variables from the request context;
* conditions: operators (String*, Arn*, Numeric*, Date*, Bool, BinaryEquals, IpAddress,
  Null) with the `IfExists` suffix and the `ForAllValues:` / `ForAnyValue:` set prefixes.
  Several values for one key: any may match (OR); several keys or operators: all must
  hold (AND). A key absent from the request fails a positive operator and satisfies a
  negated one (StringNotEquals, ArnNotLike, ...), as IAM does. `ForAllValues` over an
  absent or empty key holds (IAM's real, surprising behaviour): such a vacuous match is
  reported in the decision's `notes`, so a check can say when it decided an Allow.

Context keys are case-insensitive; a list value is a multi-valued key.
"""

import base64
import datetime
import ipaddress
import re
from dataclasses import dataclass, field


class PolicyError(Exception):
    """A policy the evaluator cannot read (unknown operator, no Action, ...)."""


# --- matching ----------------------------------------------------------------------------------

def _glob_regex(pattern, flags=0):
    parts = ("." + "*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | flags)


def glob_match(pattern, value, ignore_case=False):
    """`pattern` (with `*` and `?`) matches the whole of `value`."""
    return _glob_regex(pattern, re.IGNORECASE if ignore_case else 0).fullmatch(value) is not None


def action_matches(pattern, action):
    """An Action pattern matches an action (`service:Name`), case-insensitively."""
    return glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern, arn):
    """A Resource or Arn* pattern matches an ARN (see the module doc)."""
    if pattern == "*":
        return True
    p, a = pattern.split(":", 5), arn.split(":", 5)
    if len(p) != 6 or len(a) != 6:
        return glob_match(pattern, arn)
    return all(glob_match(x, y) for x, y in zip(p, a))


def _values(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Lookup:
    """The request context with case-insensitive keys."""

    def __init__(self, context):
        self.keys = {k.lower(): v for k, v in (context or {}).items()}

    def get(self, key):
        return self.keys.get(key.lower())

    def present(self, key):
        return key.lower() in self.keys


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def substitute(pattern, lookup):
    """`pattern` with its `${key}` policy variables replaced; None when a variable has no
    single value in the request (the pattern then matches nothing)."""
    if "${" not in pattern:
        return pattern
    missing = []

    def one(match):
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        value = lookup.get(name.split(",", 1)[0].strip())
        if value is None or isinstance(value, list) and len(value) != 1:
            missing.append(name)
            return ""
        return _text(value[0] if isinstance(value, list) else value)

    out = _VARIABLE.sub(one, pattern)
    return None if missing else out


# --- conditions --------------------------------------------------------------------------------

def _number(x):
    return float(x)


def _date(x):
    text = _text(x)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc)
    parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _ip(request, policy):
    return ipaddress.ip_address(_text(request)) in ipaddress.ip_network(_text(policy), strict=False)


def _binary(request, policy):
    return base64.b64decode(_text(policy)) == base64.b64decode(_text(request))


_ORDER = {"Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b,
          "LessThanEquals": lambda a, b: a <= b, "GreaterThan": lambda a, b: a > b,
          "GreaterThanEquals": lambda a, b: a >= b}

# base operator -> (does one request value match one policy value, negated)
OPERATORS = {
    "StringEquals": (lambda r, p: _text(r) == p, False),
    "StringNotEquals": (lambda r, p: _text(r) == p, True),
    "StringEqualsIgnoreCase": (lambda r, p: _text(r).lower() == p.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda r, p: _text(r).lower() == p.lower(), True),
    "StringLike": (lambda r, p: glob_match(p, _text(r)), False),
    "StringNotLike": (lambda r, p: glob_match(p, _text(r)), True),
    "ArnEquals": (lambda r, p: arn_matches(p, _text(r)), False),
    "ArnLike": (lambda r, p: arn_matches(p, _text(r)), False),
    "ArnNotEquals": (lambda r, p: arn_matches(p, _text(r)), True),
    "ArnNotLike": (lambda r, p: arn_matches(p, _text(r)), True),
    "Bool": (lambda r, p: _text(r).lower() == p.lower(), False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    **{f"Numeric{n}": (lambda r, p, f=f: f(_number(r), _number(p)), False) for n, f in _ORDER.items()},
    "NumericNotEquals": (lambda r, p: _number(r) == _number(p), True),
    **{f"Date{n}": (lambda r, p, f=f: f(_date(r), _date(p)), False) for n, f in _ORDER.items()},
    "DateNotEquals": (lambda r, p: _date(r) == _date(p), True),
}


def parse_operator(name):
    """(set prefix or None, base operator, IfExists) of a condition operator."""
    prefix = None
    for candidate in ("ForAllValues:", "ForAnyValue:"):
        if name.startswith(candidate):
            prefix, name = candidate[:-1], name[len(candidate):]
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    if base != "Null" and base not in OPERATORS:
        raise PolicyError(f"unknown condition operator {name!r}")
    return prefix, base, if_exists


@dataclass
class Check:
    """One condition (operator, key) against one request."""
    holds: bool
    why: str = ""
    notes: list = field(default_factory=list)


def condition_key(operator, key, policy_values, lookup):
    """Whether `operator` `key` with `policy_values` holds for the request."""
    prefix, base, if_exists = parse_operator(operator)
    wanted = [_text(v) for v in _values(policy_values)]
    present = lookup.present(key)
    request = _values(lookup.get(key))
    shown = f"{operator} {key} {wanted}: request has {request if present else 'no such key'}"
    if base == "Null":
        absent = not present or request == []
        return Check(any((w.lower() == "true") == absent for w in wanted), shown)
    wanted = [w for w in (substitute(w, lookup) for w in wanted) if w is not None]
    compare, negated = OPERATORS[base]

    def one(value):
        try:
            hit = any(compare(value, w) for w in wanted)
        except (ValueError, TypeError) as e:
            raise PolicyError(f"{operator} {key}: cannot compare {value!r} with {wanted}: {e}") from None
        return not hit if negated else hit

    if not request:
        if prefix == "ForAllValues":
            return Check(True, shown, [f"{operator} {key}: holds only because the request has "
                                       f"{'an empty' if present else 'no'} {key} (ForAllValues "
                                       "over no values is true)"])
        return Check(if_exists or (negated and prefix is None), shown)
    if prefix == "ForAllValues":
        return Check(all(one(v) for v in request), shown)
    if prefix == "ForAnyValue" or not negated:
        return Check(any(one(v) for v in request), shown)
    return Check(all(one(v) for v in request), shown)


def condition_holds(block, lookup):
    """Whether a whole Condition block holds (every operator, every key)."""
    notes = []
    for operator, keys in (block or {}).items():
        if not isinstance(keys, dict):
            raise PolicyError(f"condition {operator} is not a map of keys")
        for key, values in keys.items():
            check = condition_key(operator, key, values, lookup)
            if not check.holds:
                return Check(False, check.why)
            notes.extend(check.notes)
    return Check(True, "", notes)


# --- statements and decisions ------------------------------------------------------------------

@dataclass
class Statement:
    """One statement of one policy, normalised."""
    source: str
    index: int
    sid: str
    effect: str
    actions: list
    not_actions: list
    resources: list
    not_resources: list
    condition: dict

    @property
    def label(self):
        sid = f" ({self.sid})" if self.sid else ""
        return f"{self.source} statement {self.index}{sid}"


def statements(policies):
    """The statements of `policies` ([{"source", "document"}]), normalised."""
    out = []
    for policy in policies:
        body = policy["document"].get("Statement", [])
        for i, s in enumerate(body if isinstance(body, list) else [body]):
            if s.get("Effect") not in ("Allow", "Deny"):
                raise PolicyError(f"{policy['source']} statement {i}: Effect {s.get('Effect')!r}")
            if ("Action" in s) == ("NotAction" in s) or ("Resource" in s) == ("NotResource" in s):
                raise PolicyError(f"{policy['source']} statement {i}: needs exactly one of "
                                  "Action/NotAction and one of Resource/NotResource")
            out.append(Statement(policy["source"], i, s.get("Sid", ""), s["Effect"],
                                 _values(s.get("Action")), _values(s.get("NotAction")),
                                 _values(s.get("Resource")), _values(s.get("NotResource")),
                                 s.get("Condition") or {}))
    return out


def action_covered(stmt, action):
    if stmt.actions:
        return any(action_matches(p, action) for p in stmt.actions)
    return not any(action_matches(p, action) for p in stmt.not_actions)


def resource_covered(stmt, resource, lookup):
    def hit(patterns):
        return any(p is not None and arn_matches(p, resource)
                   for p in (substitute(x, lookup) for x in patterns))
    return hit(stmt.resources) if stmt.resources else not hit(stmt.not_resources)


@dataclass
class Applies:
    """Whether a statement applies to a request; if not, the first part that did not match."""
    applies: bool
    failed: str = ""
    why: str = ""
    notes: list = field(default_factory=list)


def applies(stmt, action, resource, lookup):
    if not action_covered(stmt, action):
        return Applies(False, "action")
    if not resource_covered(stmt, resource, lookup):
        return Applies(False, "resource", f"{resource} is not in "
                       f"{'Resource ' + str(stmt.resources) if stmt.resources else 'NotResource'}")
    check = condition_holds(stmt.condition, lookup)
    if not check.holds:
        return Applies(False, "condition", check.why)
    return Applies(True, notes=check.notes)


@dataclass
class Decision:
    """IAM's answer for one request, with the statements that allowed it and why not."""
    allowed: bool
    reason: str
    allows: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def evaluate(stmts, action, resource, context=None):
    """The decision for one request against a principal's statements."""
    lookup = _Lookup(context)
    allows, near, notes = [], [], []
    for stmt in stmts:
        result = applies(stmt, action, resource, lookup)
        if result.applies and stmt.effect == "Deny":
            return Decision(False, f"explicitly denied by {stmt.label}")
        if result.applies:
            allows.append(stmt)
            notes.extend(f"{stmt.label}: {n}" for n in result.notes)
        elif stmt.effect == "Allow" and result.failed != "action":
            near.append(f"{stmt.label} grants {action} but {result.why}")
    if allows:
        return Decision(True, f"allowed by {allows[0].label}", allows, notes)
    if near:
        return Decision(False, "implicitly denied: " + "; ".join(near))
    return Decision(False, f"implicitly denied: no Allow statement grants {action}")

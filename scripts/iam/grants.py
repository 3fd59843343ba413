"""What scripts/iam-check makes of a deployment model and a calls log: each function's calls
and IAM's decision on each, the Allow grants no call used, and the justifications of those.

A grant is one action pattern x one resource pattern of one Allow statement (`NotAction` /
`NotResource` lists count as one pattern each). A call uses every grant of every Allow
statement that applies to it. The calls the Lambda service makes with the function's role
(logs, polling its SQS queue or DynamoDB stream, sending failed batches to an on-failure
destination) are added from the model unless turned off: the emulator's log does not hold
them, yet the role must allow them, and they are what the AWS managed execution-role
policies are for.

Resources are shown with the model's ARNs written as `${LogicalId.Arn}` (tables, streams,
queues, buses, functions), so a report and a justification file read the same for any stack
name; a justification's `resource` may use that form, the plain pattern, or a glob over it.
"""

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from iam import evaluate as iam_eval


class InputError(Exception):
    """A model, calls log or justification file that cannot be used as given."""


@dataclass
class Call:
    function: str
    action: str
    resource: str
    context: dict
    origin: str = "function"


def read_calls(path):
    """The calls of a JSON-lines log (MODEL.md); blank lines are skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                c = json.loads(line)
                out.append(Call(c["function"], c["action"], c["resource"], c.get("context") or {}))
            except (ValueError, KeyError, TypeError) as e:
                raise InputError(f"{path}:{n}: not a call line ({e})") from None
    return out


def service_calls(model):
    """The requests the Lambda service signs with each function's role."""
    out = []
    prefix = f"arn:{model['partition']}:logs:{model['region']}:{model['account']}:log-group:"
    for lid, f in model["functions"].items():
        group = f["logging"].get("log_group") or f"/aws/lambda/{f['name']}"
        out.append(Call(lid, "logs:CreateLogGroup", f"{prefix}{group}", {}, "lambda-service"))
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            out.append(Call(lid, action, f"{prefix}{group}:log-stream:emulated", {}, "lambda-service"))
        for source in f.get("event_sources") or []:
            props = source.get("properties") or {}
            if source.get("type") == "SQS":
                for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                    out.append(Call(lid, action, props["Queue"], {}, "lambda-service"))
            if source.get("type") == "DynamoDB":
                for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords",
                               "dynamodb:GetShardIterator", "dynamodb:ListStreams"):
                    out.append(Call(lid, action, props["Stream"], {}, "lambda-service"))
            target = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            if target:
                action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}.get(target.split(":")[2])
                if action:
                    out.append(Call(lid, action, target, {}, "lambda-service"))
    return out


class Names:
    """`${LogicalId.Arn}` for the model's ARNs, both ways."""

    def __init__(self, model):
        pairs = []
        for kind, attrs in (("tables", ("arn", "stream_arn")), ("queues", ("arn",)),
                            ("event_buses", ("arn",)), ("functions", ("arn",))):
            for lid, res in model.get(kind, {}).items():
                for attr in attrs:
                    if res.get(attr):
                        label = "StreamArn" if attr == "stream_arn" else "Arn"
                        pairs.append((res[attr], f"${{{lid}.{label}}}"))
        self.pairs = sorted(pairs, key=lambda p: -len(p[0]))

    def short(self, text):
        for arn, label in self.pairs:
            if text == arn or text.startswith(arn + "/"):
                return label + text[len(arn):]
        return text

    def long(self, text):
        for arn, label in self.pairs:
            text = text.replace(label, arn)
        return text


@dataclass
class Grant:
    function: str
    source: str
    statement: str
    action: str
    resource: str
    conditional: bool
    uses: int = 0
    justified: str = None


def grants_of(function, stmts):
    out = []
    for s in stmts:
        if s.effect != "Allow":
            continue
        actions = s.actions or [f"NotAction {s.not_actions}"]
        resources = s.resources or [f"NotResource {s.not_resources}"]
        for a in actions:
            for r in resources:
                out.append(Grant(function, s.source, s.label, a, r, bool(s.condition)))
    return out


def _uses(grant, stmt, call):
    if grant.statement != stmt.label:
        return False
    if not grant.action.startswith("NotAction ") and not iam_eval.action_matches(grant.action, call.action):
        return False
    if grant.resource.startswith("NotResource "):
        return True
    pattern = iam_eval.substitute(grant.resource, iam_eval._Lookup(call.context))
    return pattern is not None and iam_eval.arn_matches(pattern, call.resource)


@dataclass
class FunctionReport:
    function: str
    role: str
    calls: dict = field(default_factory=lambda: defaultdict(lambda: {"count": 0, "keys": set()}))
    denied: list = field(default_factory=list)
    grants: list = field(default_factory=list)
    notes: set = field(default_factory=set)


def leading_key_shape(value):
    """`TOKEN#*` for `TOKEN#<id>`; `*#*#active` for an index partition `<t>#<u>#active`."""
    parts = value.split("#")
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", parts[0]) and len(parts) > 1:
        return parts[0] + "#*"
    last = parts[-1] if len(parts) > 1 and re.fullmatch(r"[a-z]+", parts[-1]) else "*"
    return "#".join(["*"] * (len(parts) - 1) + [last])


def check(model, calls, justifications, with_service=True, others=()):
    """Reports by function, and the problems (denied calls, unjustified unused grants,
    stale justifications, calls of unknown functions). `others`: the function logical ids of
    stacks deployed beside this one (their calls share the log and are left to their own
    check)."""
    names = Names(model)
    calls = [c for c in calls if c.function in model["functions"] or c.function not in others]
    problems, reports, stmts = [], {}, {}
    for lid, f in model["functions"].items():
        stmts[lid] = iam_eval.statements(f["policies"])
        reports[lid] = FunctionReport(lid, f.get("role", ""), grants=grants_of(lid, stmts[lid]))
    for call in calls + (service_calls(model) if with_service else []):
        report = reports.get(call.function)
        if report is None:
            problems.append(f"a call names function {call.function}, which the model lacks")
            continue
        decision = iam_eval.evaluate(stmts[call.function], call.action, call.resource, call.context)
        entry = report.calls[(call.action, names.short(call.resource), call.origin, decision.allowed)]
        entry["count"] += 1
        entry["keys"].update(leading_key_shape(str(k))
                             for k in iam_eval._values(call.context.get("dynamodb:LeadingKeys")))
        if not decision.allowed:
            report.denied.append((call, decision.reason))
            problems.append(f"{call.function}: {call.action} on {names.short(call.resource)} "
                            f"denied: {decision.reason}")
            continue
        report.notes.update(decision.notes)
        for stmt in decision.allows:
            for grant in report.grants:
                if _uses(grant, stmt, call):
                    grant.uses += 1
    problems += _justify(reports, justifications, names)
    return reports, problems


def _justify(reports, justifications, names):
    problems = []
    for lid, entries in justifications.items():
        if lid not in reports:
            problems.append(f"justification for {lid}, which the model lacks (stale)")
            continue
        for e in entries:
            hits = [g for g in reports[lid].grants if g.uses == 0 and _justifies(e, g, names)]
            if not hits:
                problems.append(f"{lid}: justification {e['action']} on {e['resource']} matches "
                                "no unused grant (stale: remove it, or the grant is used now)")
            for g in hits:
                g.justified = e["why"]
    for report in reports.values():
        for g in report.grants:
            if g.uses == 0 and g.justified is None:
                problems.append(f"{report.function}: unused grant {g.action} on "
                                f"{names.short(g.resource)} ({g.statement}) has no justification")
    return problems


def _justifies(entry, grant, names):
    action = entry["action"]
    if not (action.lower() == grant.action.lower() or iam_eval.glob_match(action, grant.action, True)):
        return False
    wanted = entry["resource"]
    shown = names.short(grant.resource)
    return wanted in (grant.resource, shown) or names.long(wanted) == grant.resource \
        or iam_eval.glob_match(wanted, shown) or iam_eval.glob_match(names.long(wanted), grant.resource)


def read_justifications(path):
    """function -> [{"action", "resource", "why"}], checked."""
    if path is None:
        return {}
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except ValueError as e:
            raise InputError(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a map of function logical id -> list")
    for lid, entries in data.items():
        for e in entries if isinstance(entries, list) else [None]:
            if not isinstance(e, dict) or not all(isinstance(e.get(k), str) and e.get(k).strip()
                                                  for k in ("action", "resource", "why")):
                raise InputError(f"{path}: {lid}: each entry needs action, resource and why")
    return data

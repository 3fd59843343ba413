"""scripts/iam-check --self-test: planted faults the check must find, and the evaluator's
rules one case each. A check that silently passes everything fails here."""

from iam import evaluate as iam_eval
from iam.grants import Call, check

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"


def _model(statements, sources=()):
    managed = {"source": "managed:arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
               "document": {"Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                   "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}]}}
    return {"stack_name": "s", "region": "us-east-1", "account": "123456789012", "partition": "aws",
            "tables": {"T": {"name": "t", "arn": TABLE, "stream_arn": None}},
            "queues": {"Q": {"name": "q", "arn": QUEUE}},
            "functions": {"F": {"name": "f", "arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                                "role": "R", "logging": {}, "event_sources": list(sources),
                                "policies": [managed, {"source": "inline:P",
                                                       "document": {"Statement": statements}}]}}}


def _allow(actions, resources, condition=None, effect="Allow"):
    s = {"Effect": effect, "Action": actions, "Resource": resources}
    if condition:
        s["Condition"] = condition
    return s


def _call(action, resource=TABLE, **context):
    return Call("F", action, resource, {k.replace("__", ":"): v for k, v in context.items()})


def _problems(statements, calls, justified=None, sources=()):
    return check(_model(statements, sources), calls, justified or {})[1]


LEADING = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TOKEN#*", "CRED#*"]}}


def _decide(stmt, action, resource=TABLE, context=None):
    return iam_eval.evaluate(iam_eval.statements([{"source": "p", "document": {"Statement": [stmt]}}]),
                             action, resource, context)


def _raises(fn):
    try:
        fn()
    except iam_eval.PolicyError:
        return True
    return False


CASES = {
    "a planted call outside the grants is denied and fails the check": lambda: any(
        "DeleteItem" in p and "denied" in p
        for p in _problems([_allow("dynamodb:GetItem", TABLE)],
                           [_call("dynamodb:GetItem"), _call("dynamodb:DeleteItem")])),
    "an explicit Deny overrides an Allow": lambda: _problems(
        [_allow("dynamodb:*", "*"), _allow("dynamodb:DeleteItem", TABLE, effect="Deny")],
        [_call("dynamodb:DeleteItem")])[0].find("explicitly denied") > 0,
    "LeadingKeys: every key in the patterns is allowed": lambda: _decide(
        _allow("dynamodb:GetItem", TABLE, LEADING), "dynamodb:GetItem",
        context={"dynamodb:LeadingKeys": ["TOKEN#1", "CRED#1"]}).allowed,
    "LeadingKeys: a key outside the patterns is denied": lambda: not _decide(
        _allow("dynamodb:GetItem", TABLE, LEADING), "dynamodb:GetItem",
        context={"dynamodb:LeadingKeys": ["COUNT#acme##1"]}).allowed,
    "LeadingKeys: one bad key among good ones is denied": lambda: not _decide(
        _allow("dynamodb:BatchGetItem", TABLE, LEADING), "dynamodb:BatchGetItem",
        context={"dynamodb:LeadingKeys": ["TOKEN#1", "COUNT#x"]}).allowed,
    "ForAllValues over an absent key allows, and says so": lambda: (lambda d: d.allowed and any(
        "ForAllValues" in n for n in d.notes))(_decide(_allow("dynamodb:GetItem", TABLE, LEADING),
                                                       "dynamodb:GetItem")),
    "ForAnyValue over an absent key does not allow": lambda: not _decide(_allow(
        "dynamodb:GetItem", TABLE, {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": "TOKEN#*"}}),
        "dynamodb:GetItem").allowed,
    "an unused grant without justification fails the check": lambda: any(
        "unused grant dynamodb:PutItem" in p and "no justification" in p
        for p in _problems([_allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE)],
                           [_call("dynamodb:GetItem")])),
    "a justified unused grant passes": lambda: not _problems(
        [_allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE)], [_call("dynamodb:GetItem")],
        {"F": [{"action": "dynamodb:PutItem", "resource": "${T.Arn}", "why": "rare path"}]}),
    "a justification matching no unused grant is stale": lambda: any("stale" in p for p in _problems(
        [_allow("dynamodb:GetItem", TABLE)], [_call("dynamodb:GetItem")],
        {"F": [{"action": "dynamodb:GetItem", "resource": TABLE, "why": "x"}]})),
    "the Lambda service's SQS polling needs the role's permission": lambda: any(
        "sqs:ReceiveMessage" in p for p in _problems(
            [_allow("dynamodb:GetItem", TABLE)], [_call("dynamodb:GetItem")],
            sources=[{"type": "SQS", "properties": {"Queue": QUEUE}}])),
    "actions match case-insensitively with * and ?": lambda: _decide(
        _allow("DynamoDB:Get?tem", TABLE), "dynamodb:GetItem").allowed
        and not _decide(_allow("dynamodb:Get?tem", TABLE), "dynamodb:GetItems").allowed,
    "NotAction allows everything else": lambda: _decide(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "s3:GetObject").allowed
        and not _decide({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "iam:PassRole").allowed,
    "NotResource excludes its ARNs": lambda: not _decide(
        {"Effect": "Allow", "Action": "dynamodb:*", "NotResource": TABLE + "*"}, "dynamodb:GetItem").allowed,
    "a resource wildcard does not span an ARN segment": lambda: not _decide(
        _allow("sqs:SendMessage", "arn:aws:sqs:us-*:123456789012:q"), "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:999:123456789012:q").allowed
        and _decide(_allow("dynamodb:Query", TABLE + "/index/*"), "dynamodb:Query",
                    TABLE + "/index/by_owner").allowed,
    "a negated operator holds when the key is absent, a positive one fails": lambda: _decide(
        _allow("s3:*", "*", {"StringNotEquals": {"aws:PrincipalTag/team": "x"}}), "s3:GetObject").allowed
        and not _decide(_allow("s3:*", "*", {"StringEquals": {"aws:PrincipalTag/team": "x"}}),
                        "s3:GetObject").allowed,
    "IfExists holds when the key is absent": lambda: _decide(
        _allow("s3:*", "*", {"StringEqualsIfExists": {"s3:prefix": "a"}}), "s3:GetObject").allowed,
    "several values are OR, several keys and operators are AND": lambda: _decide(
        _allow("events:PutEvents", "*", {"StringEquals": {"events:source": ["a", "b"],
                                                           "events:detail-type": "T"}}),
        "events:PutEvents", "*", {"events:source": "b", "events:detail-type": "T"}).allowed
        and not _decide(_allow("events:PutEvents", "*", {"StringEquals": {"events:source": ["a", "b"]},
                                                          "StringLike": {"events:detail-type": "X*"}}),
                        "events:PutEvents", "*", {"events:source": "b", "events:detail-type": "T"}).allowed,
    "Null, Bool, Numeric and ArnLike conditions": lambda: all([
        _decide(_allow("s3:*", "*", {"Null": {"aws:TokenIssueTime": "true"}}), "s3:GetObject").allowed,
        _decide(_allow("s3:*", "*", {"Bool": {"aws:SecureTransport": "true"}}), "s3:GetObject", "*",
                {"aws:SecureTransport": True}).allowed,
        not _decide(_allow("s3:*", "*", {"NumericLessThan": {"s3:max-keys": "10"}}), "s3:ListBucket",
                    "*", {"s3:max-keys": "20"}).allowed,
        _decide(_allow("kms:Decrypt", "*", {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}}),
                "kms:Decrypt", "*", {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}).allowed]),
    "context keys are case-insensitive": lambda: _decide(
        _allow("kms:Decrypt", "*", {"StringEquals": {"kms:ViaService": "ssm.x"}}), "kms:Decrypt", "*",
        {"KMS:viaservice": "ssm.x"}).allowed,
    "policy variables come from the request": lambda: _decide(
        _allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"), "s3:GetObject",
        "arn:aws:s3:::b/ann/x", {"aws:username": "ann"}).allowed,
    "a call of a stack beside this one is left to its check, of no stack's a problem": lambda: (
        check(_model([_allow("dynamodb:GetItem", TABLE)]), [_call("dynamodb:GetItem"),
              Call("OrdersFunction", "dynamodb:PutItem", TABLE, {})], {},
              others={"OrdersFunction"})[1] == []
        and any("Stray" in p for p in check(
            _model([_allow("dynamodb:GetItem", TABLE)]), [_call("dynamodb:GetItem"),
            Call("Stray", "dynamodb:PutItem", TABLE, {})], {}, others={"OrdersFunction"})[1])),
    "an unknown operator is an error, not a silent mismatch": lambda: _raises(lambda: _decide(
        _allow("s3:*", "*", {"StringSortOf": {"k": "v"}}), "s3:GetObject", "*", {"k": "v"})),
}


def run(out):
    """Runs every case; the number that failed."""
    failed = 0
    for name, case in CASES.items():
        try:
            ok = bool(case())
        except Exception as e:  # noqa: BLE001 - a crash is a failed case
            ok, name = False, f"{name} (raised {type(e).__name__}: {e})"
        failed += not ok
        out.write(f"{'ok  ' if ok else 'FAIL'} {name}\n")
    out.write(f"iam-check self-test: {len(CASES) - failed}/{len(CASES)} cases pass\n")
    return failed

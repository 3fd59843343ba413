"""Physical names, ARNs, `Ref` and `Fn::GetAtt` of each resource type, as CloudFormation
gives them, made deterministic.

A version's or alias's `Ref` is the function's ARN qualified with `1` or the alias name.
A resource without an explicit name gets `<stack>-<LogicalId>-<13 uppercase
alphanumerics>` (shortened to the service's length limit), the suffix derived from a hash of
stack and logical id: two runs give the same names, two stacks different ones. An HTTP or
REST API id is 10 lowercase alphanumerics derived the same way. A type or attribute without a rule
here is an error naming it (add the rule), never a guess.
"""

import hashlib

from deployment_model import ModelError

# type -> (property holding an explicit name, maximum length of a generated one)
NAME_PROPERTY = {
    "AWS::DynamoDB::Table": ("TableName", 255),
    "AWS::SQS::Queue": ("QueueName", 80),
    "AWS::Lambda::Function": ("FunctionName", 64),
    "AWS::IAM::Role": ("RoleName", 64),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", 128),
    "AWS::IAM::Policy": ("PolicyName", 128),
    "AWS::Logs::LogGroup": ("LogGroupName", 512),
    "AWS::Logs::MetricFilter": ("FilterName", 512),
    "AWS::Events::EventBus": ("Name", 256),
    "AWS::Events::Rule": ("Name", 64),
    "AWS::CloudWatch::Alarm": ("AlarmName", 255),
    "AWS::SNS::Topic": ("TopicName", 256),
    "AWS::SSM::Parameter": ("Name", 1011),
    "AWS::ApiGatewayV2::Stage": ("StageName", 128),
    "AWS::ApiGateway::Stage": ("StageName", 128),
}
# types whose Ref is an opaque id nothing in a model reads: a generated name stands in
OPAQUE_REF = {"AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping",
              "AWS::Events::EventBusPolicy", "AWS::SQS::QueuePolicy",
              "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Route",
              "AWS::ApiGatewayV2::Integration", "AWS::ApiGateway::Deployment"}
# API types whose name (and Ref) is a 10-character id
API_TYPES = ("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi")
_UPPER = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "0123456789abcdefghijklmnopqrstuvwxyz"


def _digits(seed, alphabet, n):
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = []
    for _ in range(n):
        number, d = divmod(number, len(alphabet))
        out.append(alphabet[d])
    return "".join(out)


def generated_name(stack, logical_id, limit=255, fifo=False):
    """`<stack>-<LogicalId>-<13 chars>`, shortened to `limit` (".fifo" kept for FIFO queues)."""
    suffix = _digits(f"{stack}\0{logical_id}", _UPPER, 13)
    tail = ".fifo" if fifo else ""
    budget = limit - len(suffix) - len(tail) - 2
    lid = logical_id[: max(1, budget - min(len(stack), budget // 2))]
    stack_part = stack[: max(1, budget - len(lid))]
    return f"{stack_part}-{lid}-{suffix}{tail}"


def api_id(stack, logical_id):
    """The 10-character id of an HTTP or REST API."""
    return _digits(f"{stack}\0{logical_id}\0api", _LOWER, 10)


class Names:
    """Physical names and attributes of the resources of one translated template.
    `resolve(value, where)` resolves a property value (names may be intrinsics)."""

    def __init__(self, resources, ctx, resolve):
        self.resources = resources
        self.ctx = ctx
        self.resolve = resolve

    def _prop(self, logical_id, name):
        props = self.resources[logical_id].get("Properties") or {}
        if name not in props:
            return None
        return self.resolve(props[name], f"{logical_id}.Properties.{name}")

    def name(self, logical_id):
        """The resource's physical name."""
        kind = self.resources[logical_id]["Type"]
        if kind in API_TYPES:
            return api_id(self.ctx["stack_name"], logical_id)
        prop, limit = NAME_PROPERTY.get(kind, (None, 255))
        explicit = self._prop(logical_id, prop) if prop else None
        if explicit is not None:
            return str(explicit)
        fifo = kind == "AWS::SQS::Queue" and str(self._prop(logical_id, "FifoQueue")).lower() == "true"
        return generated_name(self.ctx["stack_name"], logical_id, limit, fifo)

    def _arn(self, service, rest, region=True, account=True):
        c = self.ctx
        return f"arn:{c['partition']}:{service}:{c['region'] if region else ''}:" \
               f"{c['account'] if account else ''}:{rest}"

    def _iam_path(self, logical_id):
        return self._prop(logical_id, "Path") or "/"

    def ref(self, logical_id):
        """What `Ref` of the resource gives."""
        kind = self.resources[logical_id]["Type"]
        name = self.name(logical_id)
        if kind == "AWS::SQS::Queue":
            return self.queue_url(name)
        if kind in ("AWS::IAM::ManagedPolicy", "AWS::SNS::Topic"):
            return self.getatt(logical_id, "PolicyArn" if kind.startswith("AWS::IAM") else "TopicArn")
        if kind == "AWS::Events::Rule":
            bus = self._prop(logical_id, "EventBusName")
            return name if bus in (None, "default") else f"{bus.rsplit('/', 1)[-1]}|{name}"
        if kind == "AWS::Lambda::Alias":
            return self.qualified_arn(logical_id, self._prop(logical_id, "Name"))
        if kind == "AWS::Lambda::Version":
            return self.qualified_arn(logical_id, "1")
        if kind in NAME_PROPERTY or kind in OPAQUE_REF or kind in API_TYPES:
            return name
        raise ModelError(f"Ref {logical_id}: no rule for resource type {kind} (add it to names.py)")

    def qualified_arn(self, logical_id, qualifier):
        """The ARN of a version or alias (`qualifier`) of the function its `FunctionName`
        names (a name or an ARN). Every published version is version 1 here."""
        function = str(self._prop(logical_id, "FunctionName"))
        base = function if function.startswith("arn:") else self._arn("lambda", f"function:{function}")
        return f"{base}:{qualifier}"

    def queue_url(self, name):
        c = self.ctx
        return f"https://sqs.{c['region']}.{c['url_suffix']}/{c['account']}/{name}"

    def getatt(self, logical_id, attribute):
        """What `Fn::GetAtt [logical_id, attribute]` gives."""
        kind = self.resources[logical_id]["Type"]
        rule = _GETATT.get((kind, attribute))
        if rule is None:
            raise ModelError(f"Fn::GetAtt {logical_id}.{attribute}: no rule for {kind}.{attribute} "
                             "(add it to names.py)")
        return rule(self, logical_id, self.name(logical_id))


def _table_stream(n, lid, name):
    if not n._prop(lid, "StreamSpecification"):
        raise ModelError(f"Fn::GetAtt {lid}.StreamArn: the table has no StreamSpecification")
    return n._arn("dynamodb", f"table/{name}/stream/1970-01-01T00:00:00.000")


def _rule_arn(n, lid, name):
    bus = n._prop(lid, "EventBusName")
    scope = "" if bus in (None, "default") else f"{bus.rsplit('/', 1)[-1]}/"
    return n._arn("events", f"rule/{scope}{name}")


_GETATT = {
    ("AWS::DynamoDB::Table", "Arn"): lambda n, lid, name: n._arn("dynamodb", f"table/{name}"),
    ("AWS::DynamoDB::Table", "StreamArn"): _table_stream,
    ("AWS::SQS::Queue", "Arn"): lambda n, lid, name: n._arn("sqs", name),
    ("AWS::SQS::Queue", "QueueName"): lambda n, lid, name: name,
    ("AWS::SQS::Queue", "QueueUrl"): lambda n, lid, name: n.queue_url(name),
    ("AWS::Lambda::Function", "Arn"): lambda n, lid, name: n._arn("lambda", f"function:{name}"),
    ("AWS::IAM::Role", "Arn"): lambda n, lid, name: n._arn(
        "iam", f"role{n._iam_path(lid)}{name}", region=False),
    ("AWS::IAM::Role", "RoleId"): lambda n, lid, name: "AROA" + generated_name("", lid)[-13:],
    ("AWS::IAM::ManagedPolicy", "PolicyArn"): lambda n, lid, name: n._arn(
        "iam", f"policy{n._iam_path(lid)}{name}", region=False),
    ("AWS::Logs::LogGroup", "Arn"): lambda n, lid, name: n._arn("logs", f"log-group:{name}:*"),
    ("AWS::Events::EventBus", "Arn"): lambda n, lid, name: n._arn("events", f"event-bus/{name}"),
    ("AWS::Events::EventBus", "Name"): lambda n, lid, name: name,
    ("AWS::Events::Rule", "Arn"): _rule_arn,
    ("AWS::SNS::Topic", "TopicArn"): lambda n, lid, name: n._arn("sns", name),
    ("AWS::SNS::Topic", "TopicName"): lambda n, lid, name: name,
    ("AWS::CloudWatch::Alarm", "Arn"): lambda n, lid, name: n._arn("cloudwatch", f"alarm:{name}"),
    ("AWS::ApiGatewayV2::Api", "ApiId"): lambda n, lid, name: name,
    ("AWS::ApiGateway::RestApi", "RestApiId"): lambda n, lid, name: name,
    ("AWS::ApiGateway::RestApi", "RootResourceId"): lambda n, lid, name: _digits(
        f"{name}\0root", _LOWER, 10),
    ("AWS::Lambda::Version", "Version"): lambda n, lid, name: "1",
    ("AWS::Lambda::Alias", "AliasArn"): lambda n, lid, name: n.ref(lid),
    ("AWS::ApiGatewayV2::Api", "ApiEndpoint"): lambda n, lid, name:
        f"https://{name}.execute-api.{n.ctx['region']}.{n.ctx['url_suffix']}",
}

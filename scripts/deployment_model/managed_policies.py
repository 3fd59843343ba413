"""The AWS managed policies a translated template may attach, with their documents.

The SAM translator attaches AWS managed policies by ARN (`AWSLambdaBasicExecutionRole` to
every function's role, the DynamoDB / SQS / Kinesis execution roles for those event
sources) and resolves policy *names* in `Policies` through a name -> ARN map it normally
lists from IAM. Offline, both come from this table: the documents are the policies' current
versions as AWS publishes them. A policy not in the table is an error that names it, so a
template change that pulls in another one is noticed (add its document here).
"""

_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def _allow_all(actions):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}


# name -> (path, document)
AWS_MANAGED = {
    "AWSLambdaBasicExecutionRole": ("service-role/", _allow_all(_LOGS)),
    "AWSLambdaDynamoDBExecutionRole": ("service-role/", _allow_all(
        ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
         "dynamodb:ListStreams"] + _LOGS)),
    "AWSLambdaSQSQueueExecutionRole": ("service-role/", _allow_all(
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] + _LOGS)),
    "AWSLambdaKinesisExecutionRole": ("service-role/", _allow_all(
        ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
         "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:ListStreams",
         "kinesis:SubscribeToShard"] + _LOGS)),
    "AWSXrayWriteOnlyAccess": ("", _allow_all(
        ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
         "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"])),
}


def policy_map(partition):
    """name -> ARN, what the translator would otherwise list from IAM."""
    return {name: f"arn:{partition}:iam::aws:policy/{path}{name}"
            for name, (path, _) in AWS_MANAGED.items()}


def document(arn):
    """The document of the AWS managed policy `arn`, or None when it is not an AWS one or
    not in the table."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[4] != "aws":
        return None
    name = parts[5].rsplit("/", 1)[-1]
    entry = AWS_MANAGED.get(name)
    return None if entry is None else entry[1]

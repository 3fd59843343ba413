"""The model (tools/lambda-emulator/MODEL.md) of a translated template: every active
resource resolved, then functions (with their role's policies and aliases), HTTP and REST
APIs (`apis`), tables, queues, event buses, SSM parameters and the outputs' exports picked
out."""

from deployment_model import ModelError, apis, managed_policies
from deployment_model.intrinsics import Resolver
from deployment_model.parameters import as_text, scalar_text


def build(sam, cfn, parameters, ctx):
    """The model, from the SAM template, its translation and the parameter values."""
    r = Resolver(cfn, parameters, ctx)
    resolved, errors = {}, []
    for lid, res in (cfn.get("Resources") or {}).items():
        try:
            if r.active(lid):
                resolved[lid] = {"Type": res["Type"], "Metadata": res.get("Metadata") or {},
                                 "Properties": r.resolve(res.get("Properties") or {}, lid)}
        except ModelError as e:
            errors.append(str(e))
    outputs, exports = _outputs(cfn, r, errors)
    if errors:
        raise ModelError("unresolved:\n  " + "\n  ".join(errors))
    by_arn = _arn_index(resolved, r)
    model = {**{k: ctx[k] for k in ("stack_name", "region", "account", "partition")},
             "parameters": {k: as_text(v) for k, v in parameters.items()},
             "functions": {}, "http_apis": {}, "rest_apis": {}, "tables": {}, "queues": {},
             "event_buses": {}, "ssm_parameters": {}, "outputs": outputs, "exports": exports}
    for lid, res in resolved.items():
        kind, props = res["Type"], res["Properties"]
        if kind == "AWS::Lambda::Function":
            model["functions"][lid] = _function(lid, res, resolved, by_arn, r, sam)
        elif kind == "AWS::ApiGatewayV2::Api":
            model["http_apis"][lid] = apis.http_api(lid, props, resolved, by_arn, r)
        elif kind == "AWS::ApiGateway::RestApi":
            model["rest_apis"][lid] = apis.rest_api(lid, props, resolved, by_arn, r)
        elif kind == "AWS::SSM::Parameter":
            model["ssm_parameters"][r.names.name(lid)] = scalar_text(props.get("Value"))
        elif kind == "AWS::DynamoDB::Table":
            model["tables"][lid] = _table(lid, props, r)
        elif kind == "AWS::SQS::Queue":
            model["queues"][lid] = {"name": r.names.name(lid), "url": r.ref(lid, lid),
                                    "arn": r.getatt(lid, "Arn", lid)}
        elif kind == "AWS::Events::EventBus":
            model["event_buses"][lid] = {"name": r.names.name(lid), "arn": r.getatt(lid, "Arn", lid)}
        elif kind == "AWS::AppSync::GraphQLApi":
            raise ModelError(f"{lid}: {kind} is not modelled (HTTP and REST APIs only)")
    return model


def _outputs(cfn, r, errors):
    """Every output's value (by output name), and the exported ones by export name."""
    outputs, exports = {}, {}
    for name, out in (cfn.get("Outputs") or {}).items():
        try:
            if out.get("Condition") is None or r.condition(out["Condition"]):
                outputs[name] = r.resolve(out.get("Value"), f"Outputs.{name}")
                if out.get("Export") is not None:
                    export = r.resolve(out["Export"].get("Name"), f"Outputs.{name}.Export")
                    exports[scalar_text(export)] = outputs[name]
        except ModelError as e:
            errors.append(str(e))
    return outputs, exports


def _arn_index(resolved, r):
    """ARN -> logical id, for functions, roles and managed policies."""
    out = {}
    for lid, res in resolved.items():
        attr = {"AWS::Lambda::Function": "Arn", "AWS::IAM::Role": "Arn",
                "AWS::IAM::ManagedPolicy": "PolicyArn"}.get(res["Type"])
        if attr:
            out[r.getatt(lid, attr, lid)] = lid
    return out


def _int(value, where):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise ModelError(f"{where}: {value!r} is not a number") from None


def _function(lid, res, resolved, by_arn, r, sam):
    props = res["Properties"]
    binary = (res["Metadata"].get("BuildProperties") or {}).get("Binary")
    if not binary:
        raise ModelError(f"{lid}: no Metadata.BuildProperties.Binary (the cargo binary it runs)")
    name = r.names.name(lid)
    env = (props.get("Environment") or {}).get("Variables") or {}
    for key, value in env.items():
        if isinstance(value, (dict, list)):
            raise ModelError(f"{lid}: environment variable {key} is not a scalar: {value!r}")
    logging = props.get("LoggingConfig") or {}
    log_format = logging.get("LogFormat", "Text")
    role = by_arn.get(props.get("Role"))
    if role is None or resolved[role]["Type"] != "AWS::IAM::Role":
        raise ModelError(f"{lid}: its Role {props.get('Role')!r} is no role of the template")
    reserved = props.get("ReservedConcurrentExecutions")
    return {
        "name": name, "arn": r.getatt(lid, "Arn", lid), "binary": binary,
        "runtime": props.get("Runtime"), "handler": props.get("Handler"),
        "architectures": props.get("Architectures") or ["x86_64"],
        "memory_mb": _int(props.get("MemorySize", 128), f"{lid}.MemorySize"),
        "timeout_seconds": _int(props.get("Timeout", 3), f"{lid}.Timeout"),
        "reserved_concurrency": None if reserved is None else _int(reserved, f"{lid}.Reserved"),
        "environment": {k: scalar_text(v) for k, v in env.items()},
        "logging": {"log_format": log_format,
                    "application_log_level": logging.get("ApplicationLogLevel", "INFO")
                    if log_format == "JSON" else None,
                    "log_group": logging.get("LogGroup") or f"/aws/lambda/{name}"},
        "role": role,
        "policies": _policies(role, resolved, by_arn, r),
        "event_sources": _event_sources(lid, sam, r),
        "aliases": sorted(a["Properties"].get("Name") for a in resolved.values()
                          if a["Type"] == "AWS::Lambda::Alias"
                          and a["Properties"].get("FunctionName") in (name, r.getatt(lid, "Arn", lid))),
    }


def _policies(role, resolved, by_arn, r):
    props = resolved[role]["Properties"]
    out = [{"source": f"inline:{p['PolicyName']}", "document": p["PolicyDocument"]}
           for p in props.get("Policies") or []]
    for arn in props.get("ManagedPolicyArns") or []:
        lid = by_arn.get(arn)
        if lid is not None:
            out.append({"source": f"managed:{lid}",
                        "document": resolved[lid]["Properties"]["PolicyDocument"]})
            continue
        doc = managed_policies.document(arn)
        if doc is None:
            raise ModelError(f"{role}: managed policy {arn} is neither in the template nor in "
                             "deployment_model/managed_policies.py (add its document there)")
        out.append({"source": f"managed:{arn}", "document": doc})
    role_name = r.names.name(role)
    for lid, res in resolved.items():
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") \
                and role_name in (res["Properties"].get("Roles") or []):
            kind = "inline" if res["Type"] == "AWS::IAM::Policy" else "managed"
            out.append({"source": f"{kind}:{lid}", "document": res["Properties"]["PolicyDocument"]})
    return out


def _event_sources(lid, sam, r):
    """The function's SAM `Events`, resolved (their type names are SAM's: Schedule, SQS,
    DynamoDB, HttpApi, ...)."""
    events = ((sam.get("Resources") or {}).get(lid, {}).get("Properties") or {}).get("Events") or {}
    return [{"type": e.get("Type"), "name": name,
             "properties": r.resolve(e.get("Properties") or {}, f"{lid}.Events.{name}")}
            for name, e in events.items()]


def _keys(schema):
    hash_key = [k["AttributeName"] for k in schema if k["KeyType"] == "HASH"]
    range_key = [k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"]
    return hash_key[0], (range_key[0] if range_key else None)


def _table(lid, props, r):
    pk, sk = _keys(props.get("KeySchema") or [])
    indexes = {}
    for index in (props.get("GlobalSecondaryIndexes") or []) + (props.get("LocalSecondaryIndexes") or []):
        ipk, isk = _keys(index["KeySchema"])
        indexes[index["IndexName"]] = {"partition_key": ipk, "sort_key": isk}
    return {"name": r.names.name(lid), "arn": r.getatt(lid, "Arn", lid),
            "stream_arn": r.getatt(lid, "StreamArn", lid) if props.get("StreamSpecification") else None,
            "partition_key": pk, "sort_key": sk, "indexes": indexes,
            "attributes": {a["AttributeName"]: a["AttributeType"]
                           for a in props.get("AttributeDefinitions") or []}}

"""HTTP APIs (`AWS::ApiGatewayV2::Api`, OpenAPI 3 body) and REST APIs
(`AWS::ApiGateway::RestApi`, Swagger 2 body) as the SAM translator writes them: routes and
Lambda authorizers.

A function an API invokes is named by the ARN in an `.../functions/<arn>/invocations` URI:
this template's function (its ARN, or an alias's or version's ARN of it) gives its logical id;
an authorizer may also name a function of another stack (an imported ARN), kept as
`function_arn` with `function` empty. An integration must be this template's function."""

import re

from deployment_model import ModelError
from deployment_model.parameters import scalar_text

_INVOCATION = re.compile(r":lambda:path/[^/]+/functions/(.+)/invocations$")


def _int(value, where):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise ModelError(f"{where}: {value!r} is not a number") from None


def invoked_arn(uri, where):
    """The function ARN an invocation URI names."""
    match = _INVOCATION.search(uri or "")
    if match is None:
        raise ModelError(f"{where}: {uri!r} is no Lambda invocation URI")
    return match.group(1)


def function_of_arn(arn, by_arn):
    """This template's function's logical id for its ARN, qualified or not; else None."""
    if arn in by_arn:
        return by_arn[arn]
    parts = arn.split(":")
    if len(parts) == 8 and parts[5] == "function":
        return by_arn.get(":".join(parts[:7]))
    return None


def _integration(uri, by_arn, where):
    lid = function_of_arn(invoked_arn(uri, where), by_arn)
    if lid is None:
        raise ModelError(f"{where}: {uri!r} invokes no function of the template")
    return lid


def _authorizer_target(uri, by_arn, where):
    arn = invoked_arn(uri, where)
    return {"function": function_of_arn(arn, by_arn) or "", "function_arn": arn}


def _sources(value):
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    return list(value or [])


def _operations(body):
    """(verb, path, operation) of every method with an integration."""
    for path, ops in (body.get("paths") or {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict) or op.get("x-amazon-apigateway-integration") is None:
                continue
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            yield verb, path, op


def _stage(resolved, kind, api_key, api_id):
    stages = [res["Properties"].get("StageName") for res in resolved.values()
              if res["Type"] == kind and res["Properties"].get(api_key) == api_id]
    return stages[0] if stages else None


def http_api(lid, props, resolved, by_arn, r):
    """One HTTP API: id, stage, routes, Lambda authorizers."""
    body = props.get("Body")
    if not isinstance(body, dict):
        raise ModelError(f"{lid}: no OpenAPI Body (routes as separate resources are not read)")
    schemes = (body.get("components") or {}).get("securitySchemes") or {}
    authorizers = {}
    for name, scheme in schemes.items():
        auth = scheme.get("x-amazon-apigateway-authorizer")
        if not auth:
            continue
        if auth.get("type") != "request":
            raise ModelError(f"{lid}: authorizer {name} is of type {auth.get('type')} (Lambda only)")
        authorizers[name] = {
            **_authorizer_target(auth.get("authorizerUri"), by_arn, f"{lid}.{name}"),
            "identity_sources": _sources(auth.get("identitySource", [])),
            "result_ttl_seconds": _int(auth.get("authorizerResultTtlInSeconds", 0), f"{lid}.{name}"),
            "enable_simple_responses": str(auth.get("enableSimpleResponses", False)).lower() == "true",
            "payload_format": scalar_text(auth.get("authorizerPayloadFormatVersion", "2.0"))}
    routes = []
    for verb, path, op in _operations(body):
        integration = op["x-amazon-apigateway-integration"]
        security = op.get("security", body.get("security")) or []
        names = [n for s in security for n in s if n in authorizers]
        routes.append({
            "route_key": "$default" if path == "$default" else f"{verb} {path}",
            "function": _integration(integration.get("uri"), by_arn, f"{lid} {verb} {path}"),
            "authorizer": names[0] if names else None,
            "payload_format": scalar_text(integration.get("payloadFormatVersion", "1.0"))})
    api_id = r.ref(lid, lid)
    stage = _stage(resolved, "AWS::ApiGatewayV2::Stage", "ApiId", api_id)
    return {"id": api_id, "stage": stage or "$default",
            "routes": sorted(routes, key=lambda x: x["route_key"]), "authorizers": authorizers}


def _rest_authorizer(lid, name, definition, by_arn):
    auth = definition["x-amazon-apigateway-authorizer"]
    kind = str(auth.get("type", "")).upper()
    where = f"{lid}.{name}"
    if kind not in ("TOKEN", "REQUEST"):
        raise ModelError(f"{where}: authorizer type {auth.get('type')!r} (TOKEN or REQUEST only)")
    sources = _sources(auth.get("identitySource"))
    if kind == "TOKEN" and not sources:
        sources = [f"method.request.header.{definition.get('name', 'Authorization')}"]
    return {**_authorizer_target(auth.get("authorizerUri"), by_arn, where), "type": kind,
            "identity_sources": sources,
            "result_ttl_seconds": _int(auth.get("authorizerResultTtlInSeconds", 300), where),
            "validation_expression": auth.get("identityValidationExpression")}


def rest_api(lid, props, resolved, by_arn, r):
    """One REST API: id, stage, methods (`routes`), Lambda authorizers."""
    body = props.get("Body")
    if not isinstance(body, dict):
        raise ModelError(f"{lid}: no Swagger Body (resources and methods as separate resources "
                         "are not read)")
    authorizers = {name: _rest_authorizer(lid, name, d, by_arn)
                   for name, d in (body.get("securityDefinitions") or {}).items()
                   if isinstance(d, dict) and d.get("x-amazon-apigateway-authorizer")}
    routes = []
    for verb, path, op in _operations(body):
        integration = op["x-amazon-apigateway-integration"]
        security = op.get("security", body.get("security")) or []
        names = [n for s in security for n in s if n in authorizers]
        routes.append({"method": verb, "path": path,
                       "function": _integration(integration.get("uri"), by_arn,
                                                f"{lid} {verb} {path}"),
                       "authorizer": names[0] if names else None})
    api_id = r.ref(lid, lid)
    stage = _stage(resolved, "AWS::ApiGateway::Stage", "RestApiId", api_id)
    if stage is None:
        raise ModelError(f"{lid}: no AWS::ApiGateway::Stage (give the API a StageName)")
    return {"id": api_id, "stage": stage,
            "routes": sorted(routes, key=lambda x: (x["path"], x["method"])),
            "authorizers": authorizers}

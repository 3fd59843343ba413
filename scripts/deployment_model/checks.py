"""What must hold of a finished model: nothing unresolved in it, every link between its
parts found, every value of the type the emulator reads. Each breach is one line."""

import re


def problems(model, template_names=()):
    """The breaches, empty when the model is sound. `template_names` (parameters and logical
    ids) are names that must not be left in a `${...}` substitution."""
    out = []
    pattern = re.compile(r"\$\{(AWS::[A-Za-z]+|" + "|".join(map(re.escape, template_names)) + r")[.}]") \
        if template_names else re.compile(r"\$\{AWS::[A-Za-z]+\}")
    _unresolved(model, "model", out, pattern)
    functions = model["functions"]
    for lid, f in functions.items():
        for key, value in f["environment"].items():
            if not isinstance(value, str):
                out.append(f"functions.{lid}.environment.{key} is not a string")
        if not f["policies"]:
            out.append(f"functions.{lid}: its role {f['role']} has no policy")
        for p in f["policies"]:
            if not isinstance(p["document"].get("Statement"), (list, dict)):
                out.append(f"functions.{lid}: policy {p['source']} has no Statement")
    for api_lid, api in model["http_apis"].items():
        for name, auth in api["authorizers"].items():
            _authorizer_target(f"http_apis.{api_lid}.authorizers.{name}", auth, functions, out)
            if not all(isinstance(s, str) and s.startswith("$") for s in auth["identity_sources"]):
                out.append(f"http_apis.{api_lid}.authorizers.{name}: odd identity sources "
                           f"{auth['identity_sources']}")
        keys = [route["route_key"] for route in api["routes"]]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            out.append(f"http_apis.{api_lid}: route {key} is declared twice")
        for route in api["routes"]:
            if route["function"] not in functions:
                out.append(f"http_apis.{api_lid} {route['route_key']}: no function {route['function']}")
            if route["authorizer"] is not None and route["authorizer"] not in api["authorizers"]:
                out.append(f"http_apis.{api_lid} {route['route_key']}: no authorizer {route['authorizer']}")
    for api_lid, api in model.get("rest_apis", {}).items():
        for name, auth in api["authorizers"].items():
            _authorizer_target(f"rest_apis.{api_lid}.authorizers.{name}", auth, functions, out)
        for route in api["routes"]:
            where = f"rest_apis.{api_lid} {route['method']} {route['path']}"
            if route["function"] not in functions:
                out.append(f"{where}: no function {route['function']}")
            if route["authorizer"] is not None and route["authorizer"] not in api["authorizers"]:
                out.append(f"{where}: no authorizer {route['authorizer']}")
    return out


def _authorizer_target(where, auth, functions, out):
    """An authorizer names this template's function, or (`function` empty) another stack's by
    a function ARN."""
    if auth["function"] == "":
        if not auth["function_arn"].startswith("arn:") or ":function:" not in auth["function_arn"]:
            out.append(f"{where}: {auth['function_arn']!r} is no function ARN")
    elif auth["function"] not in functions:
        out.append(f"{where}: no function {auth['function']}")


def _unresolved(node, path, out, pattern):
    if isinstance(node, dict):
        for key, value in node.items():
            if len(node) == 1 and (key == "Ref" or key.startswith("Fn::")):
                out.append(f"{path}: unresolved {key}")
            _unresolved(value, f"{path}.{key}", out, pattern)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _unresolved(value, f"{path}[{i}]", out, pattern)
    elif isinstance(node, str) and pattern.search(node):
        out.append(f"{path}: unresolved substitution in {node!r}")

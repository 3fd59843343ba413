"""Parameter values: each template parameter's default, or the value given on the command
line, checked against the parameter's constraints as CloudFormation checks them."""

import re

from deployment_model import ModelError


def scalar_text(value):
    """A scalar as CloudFormation turns it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def values(template, overrides):
    """name -> value (a string; a list of strings for list types), after checking each."""
    declared = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ModelError(f"--parameter names no template parameter: {', '.join(unknown)}")
    out = {}
    for name, spec in declared.items():
        if name in overrides:
            text = overrides[name]
        elif "Default" in spec:
            default = spec["Default"]
            text = ",".join(map(scalar_text, default)) if isinstance(default, list) else scalar_text(default)
        else:
            raise ModelError(f"parameter {name} has no default: give --parameter {name}=VALUE")
        _check(name, spec, text)
        kind = spec.get("Type", "String")
        is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
        out[name] = ([] if text == "" else [v.strip() for v in text.split(",")]) if is_list else text
    return out


def _check(name, spec, text):
    kind = spec.get("Type", "String")
    items = text.split(",") if kind == "CommaDelimitedList" or kind.startswith("List<") else [text]
    for item in items:
        if kind == "Number":
            try:
                number = float(item)
            except ValueError:
                raise ModelError(f"parameter {name}: {item!r} is not a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise ModelError(f"parameter {name}: {item} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise ModelError(f"parameter {name}: {item} is above MaxValue {spec['MaxValue']}")
        allowed = spec.get("AllowedValues")
        if allowed is not None and item not in [scalar_text(a) for a in allowed]:
            raise ModelError(f"parameter {name}: {item!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, item) is None:
            raise ModelError(f"parameter {name}: {item!r} does not match {pattern}")
        if "MinLength" in spec and len(item) < int(spec["MinLength"]):
            raise ModelError(f"parameter {name}: {item!r} is shorter than {spec['MinLength']}")
        if "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            raise ModelError(f"parameter {name}: {item!r} is longer than {spec['MaxLength']}")


def as_text(value):
    """A parameter value as the model's `parameters` map holds it (lists comma-joined)."""
    return ",".join(value) if isinstance(value, list) else value

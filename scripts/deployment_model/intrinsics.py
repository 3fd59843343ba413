"""Every intrinsic function, pseudo parameter and condition of a (translated) template,
resolved to plain JSON: Ref, Fn::Sub, Fn::GetAtt, Fn::If, Fn::Join, Fn::Split,
Fn::Select, Fn::FindInMap, Fn::Base64, Fn::GetAZs, Fn::ImportValue (from the values given
for other stacks' exports), Fn::Equals, Fn::Not, Fn::And, Fn::Or, AWS::NoValue (the
property or list item is left out). Anything else is an error that says
where it is, so nothing unresolved reaches the model."""

import base64
import re

from deployment_model import ModelError
from deployment_model.names import Names
from deployment_model.parameters import scalar_text

NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Resolves values of one translated template under one set of parameter values."""

    def __init__(self, template, parameters, ctx):
        self.template = template
        self.resources = template.get("Resources") or {}
        self.parameters = parameters
        self.ctx = ctx
        self.pseudo = {
            "AWS::Region": ctx["region"], "AWS::AccountId": ctx["account"],
            "AWS::Partition": ctx["partition"], "AWS::StackName": ctx["stack_name"],
            "AWS::StackId": f"arn:{ctx['partition']}:cloudformation:{ctx['region']}:"
                            f"{ctx['account']}:stack/{ctx['stack_name']}/00000000-0000-0000-0000-000000000000",
            "AWS::URLSuffix": ctx["url_suffix"], "AWS::NotificationARNs": [],
        }
        self.names = Names(self.resources, ctx, self.resolve)
        self._conditions = {}
        self._busy = set()

    # --- conditions -------------------------------------------------------------------------
    def condition(self, name):
        """The value of the template condition `name`."""
        if name not in self._conditions:
            body = (self.template.get("Conditions") or {}).get(name)
            if body is None:
                raise ModelError(f"condition {name} is not defined")
            self._guard(f"Condition {name}")
            self._conditions[name] = self._boolean(body, f"Conditions.{name}")
            self._busy.discard(f"Condition {name}")
        return self._conditions[name]

    def active(self, logical_id):
        """Whether a resource exists under the parameters (its Condition holds)."""
        cond = self.resources[logical_id].get("Condition")
        return cond is None or self.condition(cond)

    def _boolean(self, node, where):
        if isinstance(node, bool):
            return node
        if isinstance(node, dict) and len(node) == 1:
            (fn, args), = node.items()
            if fn == "Condition":
                return self.condition(args)
            if fn == "Fn::Equals":
                a, b = (self.resolve(x, where) for x in args)
                return _comparable(a) == _comparable(b)
            if fn == "Fn::Not":
                return not self._boolean(args[0], where)
            if fn == "Fn::And":
                return all(self._boolean(x, where) for x in args)
            if fn == "Fn::Or":
                return any(self._boolean(x, where) for x in args)
        raise ModelError(f"{where}: not a condition: {node!r}")

    # --- values ------------------------------------------------------------------------------
    def resolve(self, node, where):
        """`node` with every intrinsic resolved (NO_VALUE for AWS::NoValue)."""
        if isinstance(node, list):
            out = [self.resolve(x, f"{where}[{i}]") for i, x in enumerate(node)]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._function(key, args, where)
        out = {}
        for k, v in node.items():
            value = self.resolve(v, f"{where}.{k}")
            if value is not NO_VALUE:
                out[k] = value
        return out

    def _function(self, fn, args, where):
        here = f"{where} ({fn})"
        if fn == "Ref":
            return self.ref(self.resolve(args, here), here)
        if fn == "Fn::GetAtt":
            if isinstance(args, str):
                args = args.split(".", 1)
            lid, attr = (str(self.resolve(a, here)) for a in args)
            return self.getatt(lid, attr, here)
        if fn == "Fn::Sub":
            return self._sub(args, here)
        if fn == "Fn::If":
            cond, yes, no = args
            return self.resolve(yes if self.condition(cond) else no, here)
        if fn in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
            return self._boolean({fn: args}, here)
        if fn == "Fn::Join":
            sep, items = args
            items = self.resolve(items, here)
            return self.resolve(sep, here).join(scalar_text(self._text(x, here)) for x in items)
        if fn == "Fn::Split":
            sep, text = (self.resolve(a, here) for a in args)
            return self._text(text, here).split(sep)
        if fn == "Fn::Select":
            index, items = (self.resolve(a, here) for a in args)
            try:
                return items[int(index)]
            except (IndexError, ValueError, TypeError):
                raise ModelError(f"{here}: cannot select {index!r} of {items!r}") from None
        if fn == "Fn::FindInMap":
            name, key, sub = (self._text(self.resolve(a, here), here) for a in args[:3])
            try:
                return self.template["Mappings"][name][key][sub]
            except (KeyError, TypeError):
                raise ModelError(f"{here}: no mapping {name}.{key}.{sub}") from None
        if fn == "Fn::Base64":
            return base64.b64encode(self._text(self.resolve(args, here), here).encode()).decode()
        if fn == "Fn::ImportValue":
            name = self._text(self.resolve(args, here), here)
            imports = self.ctx.get("imports") or {}
            if name not in imports:
                raise ModelError(f"{here}: no value for the export {name} "
                                 f"(give --import-value {name}=VALUE)")
            return imports[name]
        if fn == "Fn::GetAZs":
            region = self.resolve(args, here) or self.ctx["region"]
            return [f"{region}{z}" for z in "abc"]
        raise ModelError(f"{where}: intrinsic function {fn} is not supported")

    def _text(self, value, where):
        if isinstance(value, (dict, list)) or value is NO_VALUE:
            raise ModelError(f"{where}: expected a string, got {value!r}")
        return scalar_text(value)

    def ref(self, name, where):
        """What `Ref name` gives."""
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self._of_resource(name, where, lambda: self.names.ref(name))
        raise ModelError(f"{where}: Ref to {name}, which is no parameter or resource")

    def getatt(self, logical_id, attribute, where):
        """What `Fn::GetAtt logical_id.attribute` gives."""
        if logical_id not in self.resources:
            raise ModelError(f"{where}: Fn::GetAtt of {logical_id}, which is no resource")
        return self._of_resource(logical_id, where, lambda: self.names.getatt(logical_id, attribute))

    def _of_resource(self, logical_id, where, compute):
        if not self.active(logical_id):
            raise ModelError(f"{where}: refers to {logical_id}, whose condition is false")
        key = f"resource {logical_id}"
        self._guard(key)
        try:
            return compute()
        except ModelError as e:
            if getattr(e, "located", False):
                raise
            located = ModelError(f"{where}: {e}")
            located.located = True
            raise located from None
        finally:
            self._busy.discard(key)

    def _guard(self, key):
        if key in self._busy:
            raise ModelError(f"circular reference through {key}")
        self._busy.add(key)

    def _sub(self, args, where):
        text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])
        values = {k: self.resolve(v, f"{where}.{k}") for k, v in variables.items()}

        def one(match):
            var = match.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in values:
                return self._text(values[var], where)
            if "." in var and var.split(".", 1)[0] in self.resources:
                lid, attr = var.split(".", 1)
                return self._text(self.getatt(lid, attr, where), where)
            value = self.ref(var, where)
            if isinstance(value, list):
                raise ModelError(f"{where}: ${{{var}}} is a list")
            return self._text(value, where)

        return _SUB_VAR.sub(one, text)


def _comparable(value):
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value if isinstance(value, dict) else scalar_text(value)

"""The deployment model of scripts/deployment-model (format: tools/lambda-emulator/MODEL.md).

| module | concern |
| --- | --- |
| `translate` | template.yaml through the SAM translator, offline |
| `managed_policies` | the AWS managed policies the translator attaches, with their documents |
| `parameters` | parameter values: defaults, overrides, their constraints |
| `names` | physical names, ARNs, `Ref` and `Fn::GetAtt` of each resource type |
| `intrinsics` | every intrinsic function and condition, resolved |
| `apis` | HTTP and REST APIs: routes and Lambda authorizers from the API's body |
| `build` | the model: functions, APIs, tables, queues, buses, SSM parameters, exports |
| `checks` | what must hold of a finished model (nothing unresolved, every link found) |
"""


class ModelError(Exception):
    """Why the model cannot be built: the message names the resource and what is wrong."""

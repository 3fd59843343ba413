"""template.yaml through the SAM translator (aws-sam-translator), with nothing online.

What the translator needs offline, and gets here:
* a region: a boto3 session made with the model's region (no profile, no IMDS);
* the managed-policy map it would list from IAM: `managed_policies.policy_map`;
* a deployable `CodeUri`: functions built with `sam build` have `CodeUri: .`, which it
  refuses as "not a valid S3 Uri"; each becomes `s3://emulated/<LogicalId>.zip` (the
  emulator runs the cargo binary named in `Metadata.BuildProperties.Binary` instead).
"""

import copy

from deployment_model import ModelError, managed_policies


def load(path):
    """The template, with CloudFormation's short YAML tags (`!Ref`, `!Sub`, ...)."""
    from samcli.yamlhelper import yaml_parse

    with open(path, encoding="utf-8") as f:
        return yaml_parse(f.read())


def translate(template, parameter_values, region, partition):
    """The CloudFormation template SAM makes of `template` (left unchanged)."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(template)
    for logical_id, resource in (sam.get("Resources") or {}).items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and "InlineCode" not in props \
                and not str(props.get("CodeUri", "")).startswith("s3://") \
                and not isinstance(props.get("CodeUri"), dict) and "ImageUri" not in props:
            props["CodeUri"] = f"s3://emulated/{logical_id}.zip"
    session = boto3.session.Session(region_name=region, aws_access_key_id="offline",
                                    aws_secret_access_key="offline")
    translator = Translator(None, Parser(), boto_session=session)
    try:
        return translator.translate(
            sam, parameter_values=copy.deepcopy(parameter_values),
            get_managed_policy_map=lambda: managed_policies.policy_map(partition),
            passthrough_metadata=True)
    except InvalidDocumentException as e:
        causes = "; ".join(str(c) for c in getattr(e, "causes", [])) or str(e)
        raise ModelError(f"the SAM translator refused the template: {causes}") from None

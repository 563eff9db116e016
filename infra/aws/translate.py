"""Translate infra/aws/template.yaml with the AWS SAM translator, as
CloudFormation's AWS::Serverless transform does on deploy, and fail on any
error it reports: a property a SAM event does not have, a wrong type.
cfn-lint lints the resources but lets the transform's own errors pass.

    python translate.py TEMPLATE

The functions' CodeUri (a local path, for `sam build`) is replaced by an S3
URI, as `sam package` does; nothing reaches AWS.
"""
import os
import sys

from cfnlint.decode import decode_str
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


class Policies:
    """The managed policies the template names, without asking IAM."""

    def load(self):
        return {"AWSLambdaMSKExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole"}


def main(path):
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    with open(path) as f:
        template, errors = decode_str(f.read())
    if errors:
        sys.exit(f"{path}: {errors}")
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    try:
        out = transform(template, {}, Policies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"{path}: {cause.message}", file=sys.stderr)
        sys.exit(1)
    kinds = {}
    for resource in out["Resources"].values():
        kinds[resource["Type"]] = kinds.get(resource["Type"], 0) + 1
    print(f"{path}: translates to " + ", ".join(f"{n} {t}" for t, n in sorted(kinds.items())))


if __name__ == "__main__":
    main(sys.argv[1])

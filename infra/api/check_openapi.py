#!/usr/bin/env python3
"""Checks infra/api/openapi.json: a valid OpenAPI 3.1 document whose routes are exactly template.yaml's.

Every path and method of an `HttpApi` event in template.yaml (and the `Metadata.UrlRoute` of a function
URL) must be an operation of the document, and
every operation of the document must be such a route; a mismatch fails with both lists. Run with the
venv that infra/stack/install.sh makes from infra/api/requirements.txt (make test does).
"""
import json
import sys
from pathlib import Path

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, …) as plain values."""


TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_routes(path: Path) -> set[tuple[str, str]]:
    template = yaml.load(path.read_text(), Loader=TemplateLoader)
    routes = set()
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        # A function URL (served at the same path through CloudFront and the local gateway).
        url_route = (resource.get("Metadata") or {}).get("UrlRoute")
        if url_route and resource["Properties"].get("FunctionUrlConfig"):
            method, path = url_route.split(" ", 1)
            routes.add((method.upper(), path))
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                routes.add((props["Method"].upper(), props["Path"]))
    return routes


def document_routes(doc: dict) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m in METHODS}


def main() -> int:
    doc_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "infra/api/openapi.json"
    template_path = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "template.yaml"
    spec, _ = read_from_filename(str(doc_path))
    if not str(spec.get("openapi", "")).startswith("3.1."):
        print(f"{doc_path}: openapi is {spec.get('openapi')!r}, not 3.1.x", file=sys.stderr)
        return 1
    validate(spec)  # raises with the first violation of the OpenAPI 3.1 schema
    operation_ids = [o["operationId"] for item in spec["paths"].values() for m, o in item.items() if m in METHODS]
    duplicates = sorted({i for i in operation_ids if operation_ids.count(i) > 1})
    in_template = template_routes(template_path)
    in_document = document_routes(json.loads(doc_path.read_text()))
    missing = sorted(in_template - in_document, key=lambda r: (r[1], r[0]))
    extra = sorted(in_document - in_template, key=lambda r: (r[1], r[0]))
    for method, path in missing:
        print(f"in template.yaml, not in {doc_path.name}: {method} {path}", file=sys.stderr)
    for method, path in extra:
        print(f"in {doc_path.name}, not in template.yaml: {method} {path}", file=sys.stderr)
    for i in duplicates:
        print(f"operationId {i} is used twice", file=sys.stderr)
    if missing or extra or duplicates:
        return 1
    print(f"{doc_path.name}: valid OpenAPI {spec['openapi']}, {len(in_document)} operations, the routes of template.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())

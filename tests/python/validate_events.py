"""Validates event bodies against the schemas of Pass's AsyncAPI document.

Usage: validate_events.py ASYNCAPI_JSON EVENTS_JSON

EVENTS_JSON is a list of {"label": "...", "body": {...}}: each body (an event's signed body as
stored in a journal) is validated against components.schemas.EventBody with JSON Schema draft
2020-12, formats checked. Every error is printed with the event's label and where in the body it
is; the exit status is 1 when any body fails (or a schema of the document is not valid JSON
Schema), 0 otherwise.
"""

import json
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:pass-asyncapi"


def main(doc_path, events_path):
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(events_path, encoding="utf-8") as f:
        events = json.load(f)
    for name, schema in doc["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # the document itself is wrong: say which schema
            print(f"schema {name} is not valid JSON Schema: {e}")
            return 1
    registry = Registry().with_resource(
        BASE, Resource(contents=doc, specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": BASE + "#/components/schemas/EventBody"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    failures = 0
    for event in events:
        errors = sorted(validator.iter_errors(event["body"]), key=lambda e: list(e.absolute_path))
        for error in errors:
            failures += 1
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"{event['label']}: at /{where}: {error.message}")
    print(f"{len(events)} event bodies checked against the AsyncAPI schemas, {failures} errors")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))

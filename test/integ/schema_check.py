#!/usr/bin/env python3
"""A small JSON Schema checker (a draft 2020-12 subset, stdlib only) for
probekit's -J documents and --json-stream records (docs/OUTPUT.md,
docs/schema/probekit-v1.schema.json).

Keywords: type (a name or a list), required, properties,
additionalProperties (false or a schema), items, enum, const, minimum,
pattern (re.search), $ref to "#/$defs/NAME", oneOf. Annotations ($schema,
$id, title, description) are ignored; an unknown keyword is an error in the
schema, so that a schema never silently asks for more than is checked.

From a test:
    import schema_check
    errs = schema_check.check_doc(doc)              # a -J document
    errs = schema_check.check_stream(text)          # --json-stream output
    errs = schema_check.validate(value, schema)     # any schema
Each returns a list of "path: what" strings, empty when valid.

Command line:
    schema_check.py [BUILD_DIR] --self-test
    schema_check.py [--stream] FILE...     (a -J document, or JSON Lines)
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_PATH = os.path.join(HERE, "..", "..", "docs", "schema", "probekit-v1.schema.json")

KNOWN = {"type", "required", "properties", "additionalProperties", "items", "enum",
         "const", "minimum", "pattern", "$ref", "oneOf", "$defs", "$schema", "$id",
         "title", "description"}

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or
                         (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _equal(a, b):
    # JSON equality: 1 == 1.0, but True is not 1
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _resolve(root, ref):
    if not ref.startswith("#/$defs/"):
        raise ValueError("unsupported $ref %r" % ref)
    name = ref[len("#/$defs/"):]
    try:
        return root["$defs"][name]
    except KeyError:
        raise ValueError("$ref to a missing definition %r" % ref)


def validate(value, schema, root=None, path="$"):
    """Errors of value against schema (root: the document holding $defs)."""
    if root is None:
        root = schema
    if schema is True or schema == {}:
        return []
    if schema is False:
        return ["%s: not allowed" % path]
    unknown = set(schema) - KNOWN
    if unknown:
        raise ValueError("schema at %s uses unsupported keywords %s" % (path, sorted(unknown)))
    errs = []
    if "$ref" in schema:
        errs += validate(value, _resolve(root, schema["$ref"]), root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return errs + ["%s: %s is not of type %s" % (path, json.dumps(value)[:60], "/".join(types))]
    if "const" in schema and not _equal(value, schema["const"]):
        errs.append("%s: %s is not %s" % (path, json.dumps(value)[:60], json.dumps(schema["const"])))
    if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
        errs.append("%s: %s is not one of %s" % (path, json.dumps(value)[:60], schema["enum"]))
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        errs.append("%s: %r is below %r" % (path, value, schema["minimum"]))
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errs.append("%s: %r does not match %r" % (path, value, schema["pattern"]))
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errs.append("%s: %r is required" % (path, name))
        props = schema.get("properties", {})
        for name, v in value.items():
            if name in props:
                errs += validate(v, props[name], root, "%s.%s" % (path, name))
            elif "additionalProperties" in schema:
                errs += validate(v, schema["additionalProperties"], root, "%s.%s" % (path, name))
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errs += validate(v, schema["items"], root, "%s[%d]" % (path, i))
    if "oneOf" in schema:
        ok = [i for i, s in enumerate(schema["oneOf"]) if not validate(value, s, root, path)]
        if len(ok) != 1:
            errs.append("%s: matches %d of oneOf's %d schemas (want exactly 1)" %
                        (path, len(ok), len(schema["oneOf"])))
    return errs


def load_schema(path=SCHEMA_PATH):
    with open(path) as f:
        return json.load(f)


def check_doc(doc, schema=None):
    """A -J document against the probekit envelope."""
    schema = schema or load_schema()
    return validate(doc, schema)


def check_stream(text, schema=None):
    """--json-stream output: every line a {"event","data"} record; the first
    "start", the last "end" whose data is a whole -J document; samples carry
    seq and time."""
    schema = schema or load_schema()
    errs = []
    recs = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            errs.append("line %d: not JSON: %s" % (n, e))
            continue
        errs += validate(rec, {"$ref": "#/$defs/stream_record"}, schema, "line %d" % n)
        recs.append(rec)
    if not recs:
        return errs + ["no records"]
    if recs[0].get("event") != "start":
        errs.append("line 1: the first record is not 'start'")
    if recs[-1].get("event") != "end":
        errs.append("the last record is not 'end'")
    else:
        errs += ["end: " + e for e in validate(recs[-1].get("data"), schema)]
    for n, rec in enumerate(recs, 1):
        if rec.get("event") == "sample":
            errs += validate(rec.get("data"), {"$ref": "#/$defs/sample"}, schema, "line %d.data" % n)
    return errs


def self_test():
    schema = load_schema()
    t = "2026-11-30T02:00:00.123456Z"
    good = {"schema_version": 1, "tool": "udp-ping", "version": "0.2.0", "role": "client",
            "target": {"host": "localhost", "address": "127.0.0.1", "port": 12000},
            "start": t, "summary": {"transmitted": 2, "received": 1},
            "samples": [{"seq": 0, "time": t, "rtt_ms": 0.1}, {"seq": 1, "time": t, "rtt_ms": None}]}
    bad = [
        ({k: v for k, v in good.items() if k != "schema_version"}, "'schema_version' is required"),
        (dict(good, schema_version=2), "is not 1"),
        (dict(good, tool="ping"), "is not one of"),
        (dict(good, version="0.2"), "does not match"),
        (dict(good, start="2026-11-30 02:00:00"), "does not match"),
        (dict(good, target={"host": "h", "port": -1}), "below"),
        (dict(good, target={"host": "h", "ip": "x"}), "not allowed"),
        (dict(good, samples=[{"seq": 0}]), "'time' is required"),
        (dict(good, samples=[{"seq": 1.5, "time": t}]), "not of type integer"),
        (dict(good, samples={}), "not of type array"),
        ([good], "not of type object"),
    ]
    fails = []
    if check_doc(good, schema):
        fails.append("good document refused: %s" % check_doc(good, schema))
    for doc, want in bad:
        errs = check_doc(doc, schema)
        if not any(want in e for e in errs):
            fails.append("bad document not refused with %r: %s" % (want, errs))
    # the keywords on their own
    mini = {"$defs": {"n": {"type": ["integer", "null"], "minimum": 0}},
            "type": "object", "properties": {"a": {"$ref": "#/$defs/n"},
                                             "b": {"enum": [True, "x"]},
                                             "c": {"oneOf": [{"type": "string"}, {"const": 3}]}}}
    for v, nerr in (({"a": 1, "b": True, "c": "s"}, 0), ({"a": None, "c": 3}, 0),
                    ({"a": -1}, 1), ({"a": "1"}, 1), ({"b": 1}, 1), ({"c": 4}, 1),
                    ({"a": True}, 1)):
        errs = validate(v, mini)
        if len(errs) != nerr:
            fails.append("%r: want %d errors, got %s" % (v, nerr, errs))
    try:
        validate(1, {"maximum": 3})
        fails.append("an unsupported keyword was accepted")
    except ValueError:
        pass
    # a stream
    start = {k: good[k] for k in ("schema_version", "tool", "version", "role", "target", "start")}
    lines = [json.dumps({"event": "start", "data": start}),
             json.dumps({"event": "sample", "data": good["samples"][0]}),
             json.dumps({"event": "end", "data": good})]
    if check_stream("\n".join(lines) + "\n", schema):
        fails.append("good stream refused: %s" % check_stream("\n".join(lines), schema))
    for broken, want in ((lines[1:], "not 'start'"), (lines[:2], "not 'end'"),
                         (lines[:1] + ['{"event":"sample","data":{"seq":1}}'] + lines[2:],
                          "'time' is required"),
                         (lines[:1] + ['{"event":"x","data":1,"more":2}'] + lines[2:], "not allowed"),
                         (lines + ["{"], "not JSON")):
        errs = check_stream("\n".join(broken), schema)
        if not any(want in e for e in errs):
            fails.append("bad stream not refused with %r: %s" % (want, errs))
    for f in fails:
        print("FAIL", f)
    print("schema_check self-test: %s" % ("FAIL" if fails else "ok"))
    return 1 if fails else 0


def main(argv):
    args = [a for a in argv[1:] if not os.path.isdir(a)]
    if "--self-test" in args:
        return self_test()
    stream = "--stream" in args
    files = [a for a in args if a != "--stream"]
    if not files:
        print(__doc__)
        return 2
    rc = 0
    for path in files:
        text = open(path).read() if path != "-" else sys.stdin.read()
        errs = check_stream(text) if stream else check_doc(json.loads(text))
        for e in errs:
            print("%s: %s" % (path, e))
        rc |= 1 if errs else 0
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Encode or decode Avro binary with Apache's own Python implementation (Debian: python3-avro).

Used by @safeguard/testkit to check, independently of the JavaScript Avro library, that the
bytes our services write are the bytes the Avro specification describes.

Reads one JSON request on stdin and writes one JSON answer on stdout:
  {"mode": "decode", "writerSchema": "<schema json>", "readerSchema": "<optional>",
   "payloads": ["<base64>", ...], "logicalTypes": false}
      -> {"values": [<datum>, ...]}
  {"mode": "encode", "writerSchema": "<schema json>", "datums": [<datum>, ...], "logicalTypes": false}
      -> {"payloads": ["<base64>", ...]}
Values JSON cannot hold are tagged: {"$bytes": "<base64>"} for bytes and fixed,
{"$long": "<digits>"} for integers beyond 2^53 - 1, {"$float": "NaN" | "Infinity" | "-Infinity"},
and, only with logicalTypes, {"$decimal": "..."}, {"$datetime": "<iso>"}, {"$date": "<iso>"},
{"$time": "<iso>"}. The same tags are accepted on input.
Errors: exit 2 with {"error": "...", "index": <payload index or null>}; exit 3 if avro is missing.
"""
import base64
import datetime
import decimal
import io
import json
import math
import sys
import uuid

try:
    import avro.io
    import avro.schema
except ImportError:
    sys.stderr.write("python3-avro is not installed for this interpreter (run infra/install-system-deps.sh)\n")
    sys.exit(3)

MAX_SAFE = 2**53 - 1


def strip_logical_types(node):
    """Without logical types the reader returns the underlying primitive (long, int, bytes),
    which is what JavaScript's avsc returns by default."""
    if isinstance(node, dict):
        return {k: strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [strip_logical_types(v) for v in node]
    return node


def parse_schema(text, logical_types):
    parsed = json.loads(text)
    if not logical_types:
        parsed = strip_logical_types(parsed)
    return avro.schema.parse(json.dumps(parsed))


def to_json(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if -MAX_SAFE <= value <= MAX_SAFE else {"$long": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "NaN"}
        if math.isinf(value):
            return {"$float": "Infinity" if value > 0 else "-Infinity"}
        return value
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$time": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError("cannot represent %r in JSON" % type(value))


def from_json(value):
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, raw), = value.items()
            if tag == "$bytes":
                return base64.b64decode(raw)
            if tag == "$long":
                return int(raw)
            if tag == "$float":
                return float(raw.replace("Infinity", "inf"))
            if tag == "$decimal":
                return decimal.Decimal(raw)
            if tag == "$datetime":
                return datetime.datetime.fromisoformat(raw)
            if tag == "$date":
                return datetime.date.fromisoformat(raw)
            if tag == "$time":
                return datetime.time.fromisoformat(raw)
        return {k: from_json(v) for k, v in value.items()}
    return value


def fail(message, index=None):
    json.dump({"error": message, "index": index}, sys.stdout)
    sys.exit(2)


def main():
    request = json.load(sys.stdin)
    logical = bool(request.get("logicalTypes", False))
    try:
        writer = parse_schema(request["writerSchema"], logical)
        reader = parse_schema(request["readerSchema"], logical) if request.get("readerSchema") else None
    except Exception as err:  # the schema itself is invalid
        fail("invalid schema: %s" % err)

    if request["mode"] == "decode":
        values = []
        datum_reader = avro.io.DatumReader(writer, reader)
        for index, encoded in enumerate(request["payloads"]):
            raw = base64.b64decode(encoded)
            buf = io.BytesIO(raw)
            try:
                datum = datum_reader.read(avro.io.BinaryDecoder(buf))
            except Exception as err:
                fail("cannot decode payload: %s: %s" % (type(err).__name__, err), index)
            if buf.tell() != len(raw):
                fail("payload has %d trailing bytes after the datum" % (len(raw) - buf.tell()), index)
            values.append(to_json(datum))
        json.dump({"values": values}, sys.stdout)
    elif request["mode"] == "encode":
        payloads = []
        datum_writer = avro.io.DatumWriter(writer)
        for index, datum in enumerate(request["datums"]):
            buf = io.BytesIO()
            try:
                datum_writer.write(from_json(datum), avro.io.BinaryEncoder(buf))
            except Exception as err:
                fail("cannot encode datum: %s: %s" % (type(err).__name__, err), index)
            payloads.append(base64.b64encode(buf.getvalue()).decode("ascii"))
        json.dump({"payloads": payloads}, sys.stdout)
    else:
        fail("unknown mode %r" % request["mode"])


if __name__ == "__main__":
    main()

"""What fake-kube.py reads of kubectl's protobuf request bodies: a CSR's conditions."""
import json


def proto_fields(buf):
    """(field number, value) pairs of one protobuf message (wire format: varint, 64-bit,
    length-delimited and 32-bit values)."""
    def varint(i):
        value = shift = 0
        while True:
            b = buf[i]
            value |= (b & 0x7F) << shift
            i, shift = i + 1, shift + 7
            if not b & 0x80:
                return value, i
    i, out = 0, []
    while i < len(buf):
        key, i = varint(i)
        kind = key & 7
        if kind == 0:
            value, i = varint(i)
        elif kind == 2:
            n, i = varint(i)
            value, i = buf[i:i + n], i + n
        else:
            n = 8 if kind == 1 else 4
            value, i = buf[i:i + n], i + n
        out.append((key >> 3, value))
    return out


def csr_conditions(body):
    """status.conditions of a CertificateSigningRequest sent as JSON, or as protobuf (what
    kubectl's typed client sends): the magic "k8s\\0", then runtime.Unknown whose field 2
    holds the object (k8s.io/apimachinery pkg/runtime/serializer/protobuf and
    pkg/runtime/generated.proto); CertificateSigningRequest.status = 3, its conditions = 1,
    a condition's type = 1, reason = 2, message = 3, status = 6 (kubernetes/api v0.36.0
    certificates/v1/generated.proto)."""
    if not body.startswith(b"k8s\x00"):
        return (json.loads(body or b"{}").get("status") or {}).get("conditions", [])
    raw = next(v for f, v in proto_fields(body[4:]) if f == 2)
    status = next((v for f, v in proto_fields(raw) if f == 3), b"")
    conditions = []
    for f, v in proto_fields(status):
        if f == 1:
            c = dict(proto_fields(v))
            conditions.append({k: c.get(n, b"").decode() for k, n in
                               (("type", 1), ("reason", 2), ("message", 3), ("status", 6))})
    return conditions

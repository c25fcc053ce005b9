#!/usr/bin/env python3
"""gen-token-v1.py: writes token-v1.txt, the test vectors of the admit ticket
token format v1 (docs/ticket-format.md), from an implementation independent of
sync/token.c (Python 'cryptography' Ed25519, hashlib BLAKE2b, Base45 below).
Not used by the build: run it by hand only when the vectors must change."""
import hashlib
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45(data):
    out = []
    for i in range(0, len(data) - 1, 2):
        v = data[i] << 8 | data[i + 1]
        out += [ALPHABET[v % 45], ALPHABET[v // 45 % 45], ALPHABET[v // 2025]]
    if len(data) % 2:
        out += [ALPHABET[data[-1] % 45], ALPHABET[data[-1] // 45]]
    return "".join(out)


class Key:
    def __init__(self, name, seed_hex, status):
        self.name, self.seed, self.status = name, bytes.fromhex(seed_hex), status
        self.sk = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.pk = self.sk.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.kid = int.from_bytes(hashlib.blake2b(self.pk, digest_size=32).digest()[:4], "big")


KEYS = {
    "A": Key("A", bytes(range(32)).hex(), "active"),
    "B": Key("B", bytes(range(0x20, 0x40)).hex(), "retired"),
    "C": Key("C", bytes(range(0x40, 0x60)).hex(), "unknown"),
}


def fields(key, event, ticket, ttype, flags, vfrom=None, vuntil=None, label=b"",
           version=1, extra_flags=0, label_len=None):
    f = flags | extra_flags
    if vfrom is not None:
        f |= 0x04
    if vuntil is not None:
        f |= 0x08
    if label or label_len is not None:
        f |= 0x10
    b = struct.pack(">BBIIQI", version, f, KEYS[key].kid, event, ticket, ttype)
    if vfrom is not None:
        b += struct.pack(">I", vfrom)
    if vuntil is not None:
        b += struct.pack(">I", vuntil)
    if label or label_len is not None:
        b += bytes([len(label) if label_len is None else label_len]) + label
    return b


def signed(key, body, trailing=b""):
    return body + KEYS[key].sk.sign(body) + trailing


def emit(out, name, key, binary, text, result, t=None):
    out.append(f"vector: {name}")
    if t is not None:
        event, ticket, ttype, flags, vfrom, vuntil, label = t
        out.append(f"key: {key}")
        out.append(f"event_id: {event}")
        out.append(f"ticket_id: {ticket}")
        out.append(f"type_id: {ttype}")
        out.append(f"flags: {flags}")
        out.append(f"valid_from: {'-' if vfrom is None else vfrom}")
        out.append(f"valid_until: {'-' if vuntil is None else vuntil}")
        out.append(f"label: {label.decode()}" if label else "label:")
    if binary is not None:
        out.append(f"binary: {binary.hex()}" if binary else "binary:")
    out.append(f"text: {text}" if text else "text:")
    out.append(f"length: {len(text)}")
    out.append(f"result: {result}")
    out.append("")


def main():
    out = [
        "# token-v1.txt: test vectors of the admit ticket token, format version 1",
        "# (docs/ticket-format.md §9). Written by gen-token-v1.py, an implementation",
        "# independent of sync/token.c; tests/sync/test-token.c checks that the C codec",
        "# reproduces every \"ok\" text exactly and decodes every vector to its result.",
        "#",
        "# Records are separated by blank lines, one \"name: value\" per line.",
        "# Keys: \"active\" and \"retired\" keys are in the verifying keyring, \"unknown\"",
        "# ones are not. Vectors: result is \"ok\" or the adm_err_name() of the error;",
        "# binary is the hex of the Base45-decoded text.",
        "",
    ]
    for k in KEYS.values():
        out += [f"key: {k.name}", f"seed: {k.seed.hex()}", f"public: {k.pk.hex()}",
                f"kid: {k.kid:08x}", f"status: {k.status}", ""]

    ok = [
        # name, (event, ticket, type, flags, from, until, label)
        ("minimal", (1, 1, 1, 0, None, None, b"")),
        ("typical", (2024, 1234567890123, 3, 1, 1767225600, 1767311999,
                     b"Block C Row 12 Seat 7")),
        ("until-only-special", (77, 4242, 9, 2, None, 1798761599, b"VIP")),
        ("from-only-utf8", (5, 0x0102030405060708, 2, 3, 1700000000, None,
                            "Sektor Süd".encode())),
        ("maximum", (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFF, 3, 0, 0xFFFFFFFF,
                     "Tribüne Nord · Blk Ä · Pl. 9".encode())),
    ]
    for name, t in ok:
        event, ticket, ttype, flags, vfrom, vuntil, label = t
        assert len(label) <= 32
        b = signed("A", fields("A", event, ticket, ttype, flags, vfrom, vuntil, label))
        emit(out, name, "A", b, "AD1:" + b45(b), "ok", t)

    typical = signed("A", fields("A", 2024, 1234567890123, 3, 1, 1767225600, 1767311999,
                                 b"Block C Row 12 Seat 7"))
    minimal = signed("A", fields("A", 1, 1, 1, 0))
    flipped = bytearray(minimal)
    flipped[-1] ^= 0x01
    bad = [
        ("oversize", None, "AD1:" + "0" * 192, "oversize"),
        ("empty", None, "", "bad_prefix"),
        ("wrong-prefix", None, "AD2:" + b45(minimal), "bad_prefix"),
        ("lowercase-prefix", None, "ad1:" + b45(minimal), "bad_prefix"),
        ("lowercase-body", None, "AD1:" + b45(minimal).lower(), "bad_base45"),
        ("base45-overflow", None, "AD1:GGW", "bad_base45"),
        ("base45-length", None, "AD1:" + b45(minimal)[:-1], "bad_base45"),
        ("empty-binary", b"", "AD1:", "bad_length"),
        ("version-2", signed("A", fields("A", 1, 1, 1, 0, version=2)), None, "unknown_version"),
        ("version-0-short", b"\x00", None, "unknown_version"),
        ("truncated", minimal[:-2], None, "bad_length"),
        ("fixed-part-only", fields("A", 1, 1, 1, 0), None, "bad_length"),
        ("label-length-beyond-end",
         signed("A", fields("A", 1, 1, 1, 0, label=b"A", label_len=40)), None, "bad_length"),
        ("reserved-flag", signed("A", fields("A", 1, 1, 1, 0, extra_flags=0x20)), None,
         "bad_field"),
        ("zero-event", signed("A", fields("A", 0, 1, 1, 0)), None, "bad_field"),
        ("zero-ticket", signed("A", fields("A", 1, 0, 1, 0)), None, "bad_field"),
        ("zero-type", signed("A", fields("A", 1, 1, 0, 0)), None, "bad_field"),
        ("from-after-until", signed("A", fields("A", 1, 1, 1, 0, 200, 100)), None,
         "bad_field"),
        ("label-empty", signed("A", fields("A", 1, 1, 1, 0, label=b"", label_len=0)), None,
         "bad_field"),
        ("label-33", signed("A", fields("A", 1, 1, 1, 0, label=b"x" * 33)), None, "bad_field"),
        ("label-control", signed("A", fields("A", 1, 1, 1, 0, label=b"Row\t1")), None,
         "bad_field"),
        ("label-overlong", signed("A", fields("A", 1, 1, 1, 0, label=b"\xc0\xaf")), None,
         "bad_field"),
        ("label-surrogate", signed("A", fields("A", 1, 1, 1, 0, label=b"\xed\xa0\x80")), None,
         "bad_field"),
        ("trailing", signed("A", fields("A", 1, 1, 1, 0), trailing=b"\x00\x00"), None,
         "trailing_bytes"),
        ("unknown-key", signed("C", fields("C", 1, 1, 1, 0)), None, "unknown_key"),
        ("retired-key", signed("B", fields("B", 1, 1, 1, 0)), None, "retired_key"),
        ("bad-signature", bytes(flipped), None, "bad_signature"),
        ("altered-field", typical[:6] + b"\x00\x00\x07\xe9" + typical[10:], None,
         "bad_signature"),
    ]
    for name, binary, text, result in bad:
        if text is None:
            text = "AD1:" + b45(binary)
        emit(out, name, None, binary, text, result)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()

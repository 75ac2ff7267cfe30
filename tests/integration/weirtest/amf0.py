"""AMF0 encoding and decoding (Adobe "Action Message Format -- AMF 0"), enough
for RTMP commands and onMetaData: number, boolean, string, object, null,
undefined, ECMA array, strict array, date and long string."""

import struct

NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = 0x08, 0x09, 0x0A, 0x0B, 0x0C
TYPED_OBJECT = 0x10


class Undefined:
    """The AMF0 undefined value (distinct from null, which decodes to None)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "Undefined"


UNDEF = Undefined()


class EcmaArray(dict):
    """A dict that encodes as an AMF0 ECMA array instead of an object."""


class AmfError(ValueError):
    pass


def _enc_string_body(s):
    b = s.encode("utf-8")
    if len(b) > 0xFFFF:
        raise AmfError("short string longer than 65535 bytes")
    return struct.pack(">H", len(b)) + b


def encode(value):
    """One AMF0 value. Python int/float -> number, str -> string (long string
    past 65535 bytes), dict -> object (EcmaArray -> ECMA array), list/tuple ->
    strict array, None -> null, UNDEF -> undefined."""
    if value is None:
        return bytes([NULL])
    if value is UNDEF:
        return bytes([UNDEFINED])
    if isinstance(value, bool):
        return bytes([BOOLEAN, 1 if value else 0])
    if isinstance(value, (int, float)):
        return bytes([NUMBER]) + struct.pack(">d", float(value))
    if isinstance(value, str):
        b = value.encode("utf-8")
        if len(b) > 0xFFFF:
            return bytes([LONG_STRING]) + struct.pack(">I", len(b)) + b
        return bytes([STRING]) + struct.pack(">H", len(b)) + b
    if isinstance(value, EcmaArray):
        out = bytearray([ECMA_ARRAY]) + struct.pack(">I", len(value))
        for k, v in value.items():
            out += _enc_string_body(k) + encode(v)
        out += b"\x00\x00" + bytes([OBJECT_END])
        return bytes(out)
    if isinstance(value, dict):
        out = bytearray([OBJECT])
        for k, v in value.items():
            out += _enc_string_body(k) + encode(v)
        out += b"\x00\x00" + bytes([OBJECT_END])
        return bytes(out)
    if isinstance(value, (list, tuple)):
        out = bytearray([STRICT_ARRAY]) + struct.pack(">I", len(value))
        for v in value:
            out += encode(v)
        return bytes(out)
    raise AmfError(f"cannot encode {type(value).__name__}")


def encode_all(*values):
    return b"".join(encode(v) for v in values)


class _Reader:
    def __init__(self, data, pos=0):
        self.data = bytes(data)
        self.pos = pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise AmfError(f"truncated AMF0: need {n} bytes at {self.pos}, have {len(self.data) - self.pos}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def short_string(self):
        return self.take(self.u16()).decode("utf-8", "replace")

    def properties(self, out):
        while True:
            key = self.short_string()
            if key == "" and self.pos < len(self.data) and self.data[self.pos] == OBJECT_END:
                self.pos += 1
                return out
            out[key] = self.value()

    def value(self):
        t = self.u8()
        if t == NUMBER:
            return struct.unpack(">d", self.take(8))[0]
        if t == BOOLEAN:
            return self.u8() != 0
        if t == STRING:
            return self.short_string()
        if t == LONG_STRING:
            return self.take(self.u32()).decode("utf-8", "replace")
        if t == OBJECT:
            return self.properties({})
        if t == TYPED_OBJECT:
            self.short_string()
            return self.properties({})
        if t == NULL:
            return None
        if t == UNDEFINED:
            return UNDEF
        if t == ECMA_ARRAY:
            self.u32()  # count is a hint only; the end marker terminates
            return self.properties(EcmaArray())
        if t == STRICT_ARRAY:
            return [self.value() for _ in range(self.u32())]
        if t == DATE:
            ms = struct.unpack(">d", self.take(8))[0]
            self.take(2)
            return ms
        raise AmfError(f"unsupported AMF0 type marker 0x{t:02x} at {self.pos - 1}")


def decode_all(data):
    """Every value in `data`, in order; raises AmfError if malformed."""
    r = _Reader(data)
    out = []
    while r.pos < len(r.data):
        out.append(r.value())
    return out


def decode_first(data):
    """The first value only (e.g. the name of a script tag)."""
    return _Reader(data).value()

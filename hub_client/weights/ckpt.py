"""MindSpore ``.ckpt`` files read without MindSpore: protobuf records, streamed one tensor at a time.

The file is ``Checkpoint { repeated Value { string tag; TensorProto tensor } }`` serialized once per record and
the records written one after another; MindSpore splits tensors over 512 MiB along their first axis into
several records with the same tag, and may end the file with ``b"crc_num"`` and a 10-byte big-endian CRC-32 of
everything before it. Each record is parsed by the protobuf package from a schema built here (no generated
code, no MindSpore import); a file that ends mid-record, a wrong CRC or an unknown dtype is a
:class:`CheckpointError`, never a partial result.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from registry.errors import CheckpointError

from .dtypes import widen_bfloat16

_TRAILER = b"crc_num"
_TRAILER_LEN = len(_TRAILER) + 10
#: MindSpore's tensor_type names → numpy dtypes (bfloat16 is widened to float32 on read).
DTYPES: dict[str, Any] = {
    "Float16": np.float16, "Float32": np.float32, "Float64": np.float64, "BFloat16": "bfloat16",
    "Int8": np.int8, "Int16": np.int16, "Int32": np.int32, "Int64": np.int64,
    "UInt8": np.uint8, "UInt16": np.uint16, "UInt32": np.uint32, "UInt64": np.uint64, "Bool": np.bool_,
}


@lru_cache(maxsize=1)
def _value_class() -> Any:
    """``Checkpoint.Value`` as a protobuf message class, in a private pool so MindSpore's own never clashes."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FileDescriptorProto(name="hub_checkpoint.proto", package="hub_ckpt", syntax="proto2")
    fd = descriptor_pb2.FieldDescriptorProto
    tensor = f.message_type.add(name="TensorProto")
    tensor.field.add(name="dims", number=1, label=fd.LABEL_REPEATED, type=fd.TYPE_INT64)
    tensor.field.add(name="tensor_type", number=2, label=fd.LABEL_OPTIONAL, type=fd.TYPE_STRING)
    tensor.field.add(name="tensor_content", number=3, label=fd.LABEL_OPTIONAL, type=fd.TYPE_BYTES)
    value = f.message_type.add(name="Value")
    value.field.add(name="tag", number=1, label=fd.LABEL_OPTIONAL, type=fd.TYPE_STRING)
    value.field.add(name="tensor", number=2, label=fd.LABEL_OPTIONAL, type=fd.TYPE_MESSAGE,
                    type_name=".hub_ckpt.TensorProto")
    value.field.add(name="maptensor", number=3, label=fd.LABEL_OPTIONAL, type=fd.TYPE_BYTES)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("hub_ckpt.Value"))


def _varint(f: IO[bytes], path: Path) -> tuple[int, bytes] | None:
    """One base-128 varint and its bytes as written; None at a clean end of file."""
    shift = result = 0
    raw = bytearray()
    while True:
        b = f.read(1)
        if not b:
            if shift == 0:
                return None
            raise CheckpointError(path, "the file ends inside a record header: truncated download or copy")
        raw += b
        result |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return result, bytes(raw)
        shift += 7
        if shift > 63:
            raise CheckpointError(path, "a record length is not a valid varint: not a MindSpore checkpoint")


def _body_end(path: Path) -> tuple[int, int | None]:
    """Where the records end, and the CRC the trailer promises (None when there is no trailer)."""
    size = path.stat().st_size
    if size >= _TRAILER_LEN:
        with open(path, "rb") as f:
            f.seek(size - _TRAILER_LEN)
            tail = f.read(_TRAILER_LEN)
        if tail.startswith(_TRAILER):
            return size - _TRAILER_LEN, int.from_bytes(tail[len(_TRAILER):], "big")
    return size, None


def _spans(f: IO[bytes], path: Path, end: int) -> Iterator[tuple[int, bytes, int, int]]:
    """(start, header bytes as written, body offset, body length) per record, ``f`` left at the body.

    The one walk over the record framing that :func:`records` and :func:`shapes` share; whatever the caller
    reads of the body, the next record is found from the length.
    """
    while f.tell() < end:
        start = f.tell()
        got = _varint(f, path)
        if got is None:
            break
        key, key_raw = got
        if key != 0x0A:  # field 1 (value), wire type 2 (length-delimited)
            raise CheckpointError(path, f"unexpected protobuf field key {key:#x} at byte {start}: not a "
                                  "MindSpore checkpoint (or an encrypted one)")
        got = _varint(f, path)
        if got is None or f.tell() + got[0] > end:
            raise CheckpointError(path, f"the record at byte {start} runs past the end of the file: truncated")
        length, len_raw = got
        body_at = f.tell()
        yield start, key_raw + len_raw, body_at, length
        f.seek(body_at + length)


def records(path: Path) -> Iterator[tuple[str, tuple[int, ...], str, bytes]]:
    """(tag, dims, tensor_type, content) per record, in file order; checks the CRC trailer at the end."""
    value_cls = _value_class()
    end, crc_expected = _body_end(path)
    crc = 0
    with open(path, "rb") as f:
        for start, header, _, length in _spans(f, path, end):
            body = f.read(length)
            if crc_expected is not None:
                crc = binascii.crc32(body, binascii.crc32(header, crc))
            msg = value_cls()
            try:
                msg.ParseFromString(body)
            except Exception as e:  # protobuf's DecodeError and friends
                raise CheckpointError(path, f"record at byte {start} does not parse ({e})") from None
            if msg.HasField("maptensor"):
                raise CheckpointError(path, f"{msg.tag}: map tensors are not model weights this loader reads")
            t = msg.tensor
            yield msg.tag, tuple(int(d) for d in t.dims), t.tensor_type, t.tensor_content
    if crc_expected is not None and crc != crc_expected:
        raise CheckpointError(path, f"CRC-32 mismatch: the trailer says {crc_expected}, the records give {crc}")


def _field(f: IO[bytes], path: Path, wire: int, where: str) -> tuple[int, int]:
    """A varint field's value, or where a fixed-size or length-delimited one starts and its length (skipped)."""
    if wire in (1, 5):
        pos = f.tell()
        f.seek(8 if wire == 1 else 4, 1)
        return pos, 8 if wire == 1 else 4
    got = _varint(f, path)
    if got is None:
        raise CheckpointError(path, f"the file ends inside {where}: truncated")
    if wire == 0:
        return got[0], 0
    if wire == 2:
        pos = f.tell()
        f.seek(got[0], 1)
        return pos, got[0]
    raise CheckpointError(path, f"unexpected protobuf wire type {wire} in {where}: not a MindSpore checkpoint")


def shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """name → shape of every tensor, from the record headers alone: the tensor bytes are skipped, not read.

    What the architecture is read off; the load itself reads the file with :func:`read` (and checks its CRC).
    A split tensor's first record carries the whole shape, as :func:`read` relies on too.
    """
    path = Path(path)
    end, _ = _body_end(path)
    out: dict[str, tuple[int, ...]] = {}
    with open(path, "rb") as f:
        for start, _, body_at, length in _spans(f, path, end):
            tag, dims = _record_head(f, path, body_at + length, start)
            out.setdefault(tag, dims)
    return out


def _record_head(f: IO[bytes], path: Path, stop: int, start: int) -> tuple[str, tuple[int, ...]]:
    """The tag and dims of one ``Value`` record whose body ends at ``stop``."""
    tag, dims = "", []
    where = f"the record at byte {start}"
    while f.tell() < stop:
        key = _varint(f, path)
        if key is None:
            raise CheckpointError(path, f"the file ends inside {where}: truncated")
        field, wire = key[0] >> 3, key[0] & 7
        at, n = _field(f, path, wire, where)
        if wire == 2 and field in (1, 2):
            f.seek(at)
            if field == 1:
                tag = f.read(n).decode("utf-8", "replace")
            else:
                dims = _tensor_dims(f, path, at + n, where)
            f.seek(at + n)
    return tag, tuple(dims)


def _tensor_dims(f: IO[bytes], path: Path, stop: int, where: str) -> list[int]:
    """``TensorProto.dims``, packed or not; ``tensor_content`` is skipped with a seek."""
    dims: list[int] = []
    while f.tell() < stop:
        key = _varint(f, path)
        if key is None:
            raise CheckpointError(path, f"the file ends inside {where}: truncated")
        field, wire = key[0] >> 3, key[0] & 7
        if field == 1 and wire == 2:  # packed dims
            at, n = _field(f, path, 2, where)
            f.seek(at)
            while f.tell() < at + n:
                got = _varint(f, path)
                if got is None:
                    raise CheckpointError(path, f"the file ends inside {where}: truncated")
                dims.append(got[0])
            continue
        value, _ = _field(f, path, wire, where)
        if field == 1 and wire == 0:
            dims.append(value)
    return dims


def _array(path: Path, tag: str, dims: tuple[int, ...], ttype: str, content: bytes) -> NDArray[Any]:
    dtype = DTYPES.get(ttype)
    if dtype is None:
        raise CheckpointError(path, f"{tag}: tensor type {ttype!r} is not one this reader knows "
                              f"({', '.join(DTYPES)})")
    if dtype == "bfloat16":
        arr = widen_bfloat16(content)
    else:
        arr = np.frombuffer(content, dtype)
    count = int(np.prod(dims)) if dims else 1
    if arr.size != count:
        raise CheckpointError(path, f"{tag}: {arr.size} values for shape {dims}: a truncated or damaged tensor")
    return arr.reshape(dims) if dims else arr.reshape(())


def read(path: str | Path) -> dict[str, NDArray[Any]]:
    """name → array for every tensor; the records of a split tensor are joined back."""
    path = Path(path)
    out: dict[str, NDArray[Any]] = {}
    pending: dict[str, tuple[tuple[int, ...], str, list[bytes]]] = {}
    for tag, dims, ttype, content in records(path):
        if tag in out:
            raise CheckpointError(path, f"{tag} appears twice: not a checkpoint MindSpore wrote")
        if tag in pending:
            pending[tag][2].append(content)
        elif _whole(dims, ttype, len(content)):
            out[tag] = _array(path, tag, dims, ttype, content)
            continue
        else:  # the first slice of a tensor MindSpore split (over 512 MiB, along axis 0)
            pending[tag] = (dims, ttype, [content])
        d, t, parts = pending[tag]
        if _whole(d, t, sum(len(p) for p in parts)):
            del pending[tag]
            out[tag] = _array(path, tag, d, t, b"".join(parts))
    if pending:
        raise CheckpointError(path, f"incomplete split tensor(s): {', '.join(pending)}: the file is truncated")
    return out


def _whole(dims: tuple[int, ...], ttype: str, length: int) -> bool:
    dtype = DTYPES.get(ttype)
    if dtype is None:
        return True  # let _array raise the clear error
    itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
    return length >= int(np.prod(dims)) * itemsize


#: numpy dtypes → MindSpore's tensor_type names, for writing.
_TYPE_NAMES: dict[Any, str] = {np.dtype(v): k for k, v in DTYPES.items() if v != "bfloat16"}


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field_header(number: int, length: int) -> bytes:
    """The key and length of a length-delimited protobuf field."""
    return _encode_varint(number << 3 | 2) + _encode_varint(length)


def write(path: str | Path, tensors: dict[str, NDArray[Any]]) -> int:
    """Write ``tensors`` as a MindSpore checkpoint, one record per tensor and the CRC-32 trailer, as
    ``mindspore.save_checkpoint(..., crc_check=True)`` writes them; returns the bytes written.

    The framing is written here (tag, dims, tensor_type, then the tensor's bytes straight from the array), so a
    tensor is never copied into a protobuf message first. Callers write to a temporary name and rename.
    """
    path = Path(path)
    crc = written = 0
    with open(path, "wb") as f:
        for tag, array in tensors.items():
            arr = np.asarray(array)
            if not arr.flags.c_contiguous:
                arr = np.ascontiguousarray(arr)  # (which would make a 0-d array 1-d: hence only when needed)
            ttype = _TYPE_NAMES.get(arr.dtype)
            if ttype is None:
                raise CheckpointError(path, f"{tag}: dtype {arr.dtype} has no MindSpore tensor type")
            dims = b"".join(_encode_varint(1 << 3 | 0) + _encode_varint(int(d)) for d in arr.shape)
            name = ttype.encode()
            head = dims + _field_header(2, len(name)) + name + _field_header(3, arr.nbytes)
            tensor_len = len(head) + arr.nbytes
            tag_bytes = tag.encode("utf-8")
            value_head = _field_header(1, len(tag_bytes)) + tag_bytes + _field_header(2, tensor_len)
            value_len = len(value_head) + tensor_len
            record_head = _field_header(1, value_len) + value_head + head
            body = arr.reshape(-1).view(np.uint8).data if arr.size else memoryview(b"")
            crc = binascii.crc32(body, binascii.crc32(record_head, crc))
            f.write(record_head)
            f.write(body)
            written += len(record_head) + arr.nbytes
        f.write(_TRAILER + crc.to_bytes(10, "big"))
    return written + _TRAILER_LEN

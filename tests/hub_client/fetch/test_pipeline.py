"""The read-hash-write pipeline and its part file: direct writes where aligned, the page cache elsewhere."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess

import pytest

from hub_client.fetch.pipeline import ALIGN, CHUNK, PartFile, Pipeline


def _direct_supported(path) -> bool:
    with PartFile(path / "probe", direct=True) as f:
        return f.direct


class Cut(io.BytesIO):
    """A body that breaks after ``after`` bytes, as a dropped connection does, and counts its reads."""

    def __init__(self, data: bytes, after: int | None = None) -> None:
        super().__init__(data)
        self.after = after
        self.sizes: list[int] = []

    def readinto(self, view) -> int:  # type: ignore[override]
        if self.after is not None and self.tell() >= self.after:
            raise ConnectionResetError("cut")
        if self.after is not None:
            view = view[: self.after - self.tell()]
        n = super().readinto(view)
        self.sizes.append(n)
        return n


def _pump(data: bytes, path, start: int = 0, direct: bool = True, after: int | None = None, **kw):
    h = hashlib.sha256()
    body = Cut(data[start:], after)
    with PartFile(path, direct=direct) as out:
        pipe = Pipeline(h, out, start, **kw)
        try:
            while pipe.read_from(body, 1 << 40):
                pass
        finally:
            pipe.close()
        return h, pipe, body, out.direct


def test_bytes_and_digest_are_right_with_and_without_direct_io(tmp_path):
    data = os.urandom(3 * CHUNK + 12345)  # whole blocks, then a tail that is not a multiple of ALIGN
    for direct in (True, False):
        path = tmp_path / f"out-{direct}"
        h, pipe, _, _ = _pump(data, path, direct=direct)
        assert path.read_bytes() == data
        assert h.hexdigest() == hashlib.sha256(data).hexdigest()
        assert pipe.pos == len(data)


def test_aligned_blocks_go_direct_where_the_file_system_allows(tmp_path):
    if not _direct_supported(tmp_path):
        pytest.skip(f"{tmp_path} does not take O_DIRECT")
    data = os.urandom(2 * CHUNK + 100)
    _, _, _, still_direct = _pump(data, tmp_path / "out")
    assert still_direct  # no write was refused: the buffers and offsets were aligned
    assert (tmp_path / "out").read_bytes() == data


def test_an_unaligned_resume_reads_up_to_the_block_boundary_first(tmp_path):
    data = os.urandom(CHUNK + 5000)
    path = tmp_path / "out"
    path.write_bytes(data[:1000])  # what a previous run kept
    h = hashlib.sha256(data[:1000])
    body = Cut(data[1000:])
    with PartFile(path, direct=True) as out:
        pipe = Pipeline(h, out, 1000)
        while pipe.read_from(body, 1 << 40):
            pass
        pipe.close()
    assert sum(body.sizes[:1]) == ALIGN - 1000  # then every block starts on a boundary
    assert path.read_bytes() == data
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_refused_direct_write_falls_back_to_the_page_cache(tmp_path):
    if not _direct_supported(tmp_path):
        pytest.skip(f"{tmp_path} does not take O_DIRECT")
    data = os.urandom(3 * ALIGN + 1)
    with PartFile(tmp_path / "out", direct=True) as out:
        # a buffer at an odd address: the kernel refuses it for O_DIRECT with EINVAL
        out.write_at(memoryview(data)[1:], 0)
        assert not out.direct
    assert (tmp_path / "out").read_bytes() == data[1:]


def test_bytes_that_arrived_before_a_cut_are_hashed_written_and_counted(tmp_path):
    data = os.urandom(2 * CHUNK)
    cut = CHUNK + 777  # in the middle of the second buffer
    with pytest.raises(ConnectionResetError):
        _pump(data, tmp_path / "out", after=cut)
    assert (tmp_path / "out").read_bytes() == data[:cut]
    h = hashlib.sha256()
    with PartFile(tmp_path / "out", direct=True) as out:
        pipe = Pipeline(h, out, 0)
        body = Cut(data, after=cut)
        with pytest.raises(ConnectionResetError):
            while pipe.read_from(body, 1 << 40):
                pass
        pipe.close()
    assert pipe.pos == cut
    assert h.hexdigest() == hashlib.sha256(data[:cut]).hexdigest()


def test_tmpfs_without_o_direct_still_works(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        data = os.urandom(CHUNK + 3)
        h, _, _, _ = _pump(data, mnt / "out")
        assert (mnt / "out").read_bytes() == data
        assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.parametrize(("value", "direct", "fsync"), [(None, True, False), ("0", False, False),
                                                        ("off", False, False), ("1", True, True)])
def test_direct_io_and_fsync_come_from_the_environment_at_call_time(value, direct, fsync):
    from registry.settings import Settings

    environ = {var: v for var, v in (("HUB_DIRECT_IO", value), ("HUB_FSYNC", "1" if fsync else None)) if v is not None}
    s = Settings.from_env(environ)
    assert (s.direct_io, s.fsync) == (direct, fsync)


def test_a_pull_through_the_page_cache_gives_the_same_bytes(nginx, cards, net):
    from helpers import index, payload, publish, unique

    from hub_client import pull

    net = net.but(direct_io=False)
    pub = publish(nginx.root, cards, unique("pagecache"), payload(2 * CHUNK + 5, seed=60), base=nginx.url)
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data


def test_without_pwrite_the_writer_seeks_and_writes(tmp_path, monkeypatch):
    """Windows has no os.pwrite: the same bytes land at the same offsets by seek and write."""
    monkeypatch.delattr(os, "pwrite")
    data = os.urandom(2 * CHUNK + 77)
    h, _, _, _ = _pump(data, tmp_path / "out", direct=False)
    assert (tmp_path / "out").read_bytes() == data
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()

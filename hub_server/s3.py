"""A mirror's storage in an S3-compatible bucket (MinIO, Ceph RGW, SeaweedFS, Huawei OBS, AWS), through boto3.

``s3://bucket/prefix`` holds, per repo, what ``LocalStorage`` keeps in a folder::

    <prefix>/hf/models--org--name/refs/<rev>              {"sha": ..., "at": <seconds>}
    <prefix>/hf/models--org--name/snapshots/<sha>.json    the commit's file list (immutable)
    <prefix>/hf/models--org--name/blobs/<etag>            a file, by content address (immutable)

A blob is uploaded only after it was verified, and an S3 object (a single PUT, or a multipart upload) is
visible only once it is complete, so no reader ever sees half a blob. Nothing else is kept on the server:
replicas over one bucket are stateless and agree, and a load balancer may spread clients over them. The
client and its settings are ``hub_client.fetch.buckets``'.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from hub_client.fetch.buckets import client, get_small, missing, parse_url, put_small
from registry.settings import Settings

from .storage import Ref, Snapshot, StoredFile, check_rev, repo_folder_name

if TYPE_CHECKING:
    from .assets import Remote
    from .flight import Flight

#: Bytes per ranged read of an object, and per part of an upload.
BLOCK = 8 << 20


class S3Object:
    """One blob in the bucket, read range by range."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int) -> None:
        self.s3, self.bucket, self.key, self.size = s3, bucket, key, size

    def read(self, start: int, end: int) -> Iterator[bytes]:
        if end <= start:
            return
        resp = self.s3.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end - 1}")
        body = resp["Body"]
        try:
            yield from body.iter_chunks(1 << 20)
        finally:
            body.close()


class S3Storage:
    """Refs, snapshots and blobs under ``s3://bucket/prefix``; files on their way in wait in ``scratch``."""

    def __init__(self, url: str, scratch: Path, *, s3: Any = None, settings: Settings | None = None) -> None:
        self.bucket, self.prefix = parse_url(url)
        self.s3 = s3 or client(settings or Settings())
        self._scratch = scratch

    def _key(self, repo: str, *parts: str) -> str:
        return f"{self.prefix}hf/{repo_folder_name(repo)}/" + "/".join(parts)

    def _get(self, key: str) -> bytes | None:
        return get_small(self.s3, self.bucket, key)

    def _put(self, key: str, body: str) -> None:
        put_small(self.s3, self.bucket, key, body)

    def ref(self, repo: str, rev: str) -> Ref | None:
        data = self._get(self._key(repo, "refs", PurePosixPath(check_rev(rev)).as_posix()))
        try:
            d = json.loads(data) if data else None
            return Ref(str(d["sha"]), float(d["at"])) if d else None
        except (ValueError, KeyError, TypeError):
            return None

    def set_ref(self, repo: str, rev: str, sha: str) -> None:
        self._put(self._key(repo, "refs", check_rev(rev)), json.dumps({"sha": sha, "at": time.time()}))

    def snapshot(self, repo: str, sha: str) -> Snapshot | None:
        data = self._get(self._key(repo, "snapshots", f"{sha}.json"))
        try:
            return Snapshot.from_json(data) if data else None
        except (ValueError, KeyError, TypeError):
            return None

    def set_snapshot(self, snap: Snapshot) -> None:
        self._put(self._key(snap.repo, "snapshots", f"{snap.sha}.json"), snap.to_json())

    def blob(self, repo: str, etag: str) -> S3Object | None:
        from botocore.exceptions import ClientError

        key = self._key(repo, "blobs", etag)
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if missing(e):
                return None
            raise
        return S3Object(self.s3, self.bucket, key, int(head["ContentLength"]))

    def has_blob(self, repo: str, etag: str) -> bool:
        return self.blob(repo, etag) is not None

    def put_blob(self, snap: Snapshot, f: StoredFile, verified: Path) -> None:
        self.add_blob(snap.repo, f.etag, verified)

    def add_blob(self, repo: str, etag: str, verified: Path) -> None:
        from boto3.s3.transfer import TransferConfig

        try:
            self.s3.upload_file(str(verified), self.bucket, self._key(repo, "blobs", etag),
                                ExtraArgs={"ContentType": "application/octet-stream"},
                                Config=TransferConfig(multipart_chunksize=BLOCK, max_concurrency=8))
        finally:
            verified.unlink(missing_ok=True)

    def scratch(self, repo: str) -> Path:
        self._scratch.mkdir(parents=True, exist_ok=True)
        return self._scratch

    def repos(self) -> list[str]:
        out = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{self.prefix}hf/",
                                                                  Delimiter="/")
        for page in pages:
            for cp in page.get("CommonPrefixes", []):
                name = cp["Prefix"][len(self.prefix) + 3:].strip("/")
                if name.startswith("models--") and "--" in name[8:]:
                    out.append(name[8:].replace("--", "/", 1))
        return sorted(out)


class BucketAssets:
    """MindSpore Hub assets in the bucket, beside the Hugging Face repos::

        <prefix>/ms/blobs/sha256/<hex>       a verified asset, by digest (immutable)
        <prefix>/ms/paths/<upstream path>    {"sha256": ...}: which blob the path of an asset's URL is

    A path not in the bucket is pulled through ``local`` (an ``AssetStore`` on a scratch ``HUB_HOME``: the card's
    host, ``hub pull``'s verification), then uploaded, blob first, so the path never names a missing blob; the
    scratch copy is then removed.
    """

    def __init__(self, storage: S3Storage, local: Any) -> None:
        self.s3, self.bucket, self.prefix = storage.s3, storage.bucket, storage.prefix
        self.local = local

    def registry_db(self) -> Path:
        return Path(self.local.registry_db())

    def _blob_key(self, digest: str) -> str:
        return f"{self.prefix}ms/blobs/sha256/{digest}"

    def blob(self, digest: str) -> S3Object:
        from botocore.exceptions import ClientError

        from .storage import NotFound

        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise NotFound("EntryNotFound", f"{digest} is not a sha256")
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self._blob_key(digest))
        except ClientError as e:
            if missing(e):
                raise NotFound("EntryNotFound", f"no blob {digest}") from None
            raise
        return S3Object(self.s3, self.bucket, self._blob_key(digest), int(head["ContentLength"]))

    def stored_assets(self, files: Iterable[tuple[str, str, str, str]]) -> dict[str, int | None]:
        """Which of ``files`` (URL path, dialect, uid, file name) are in the bucket, by URL path: one listing of
        the paths kept, so sizes are not known here (None)."""
        kept: set[str] = set()
        start = f"{self.prefix}ms/paths/"
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            kept.update("/" + o["Key"][len(start):] for o in page.get("Contents", []))
        return {f[0]: None for f in files if f[0] in kept}

    def put(self, rel: str, blob: Path, digest: str) -> None:
        """A verified asset (``blob``, removed after) stored as the path ``rel`` of its URL: the blob first, so the
        path never names a missing blob."""
        self.s3.upload_file(str(blob), self.bucket, self._blob_key(digest),
                            ExtraArgs={"ContentType": "application/octet-stream"})
        put_small(self.s3, self.bucket, f"{self.prefix}ms/paths/{rel}", json.dumps({"sha256": digest}))
        blob.unlink(missing_ok=True)

    def at(self, url_path: str, *, fetch: bool = True) -> S3Object | Flight | Remote:
        """The blob the asset whose URL has ``url_path`` is; else, pulled through, the flight bringing it (which
        uploads it before its last byte goes out), or with ``fetch=False`` what upstream has."""
        from .storage import LocalBlob, NotFound, check_path

        rel = check_path(url_path.lstrip("/")).as_posix()
        key = f"{self.prefix}ms/paths/{rel}"
        known = get_small(self.s3, self.bucket, key)
        if known:
            try:
                return self.blob(str(json.loads(known)["sha256"]))
            except (ValueError, KeyError, TypeError, NotFound):
                pass  # a damaged index entry, or its blob gone: fetch it again

        def upload(blob: Path, digest: str) -> None:
            self.put(rel, blob, digest)

        # NotFound when no card names the path, or pulling through is off.
        got = self.local.at(url_path, fetch=fetch, on_stored=upload)
        if isinstance(got, LocalBlob):  # in the scratch folder already (a pull there finished it)
            upload(got.path, got.path.name)
            return self.blob(got.path.name)
        return got  # type: ignore[no-any-return]

"""Where a MindSpore Hub card and its checkpoint are published: a folder (a web server's root, a shared file
system) or an S3 bucket, behind one small interface.

An asset is written once, by content: the file is read once, hashed while it is copied or uploaded under a
staging name, and only then given its final name (``<name>/<name>-<sha8>.ckpt``); a folder renames, a bucket
copies server-side. A half-copied file or an incomplete multipart upload is never under a final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from registry.errors import PublishError, UsageError
from registry.modes import for_others
from registry.settings import Settings

#: Bytes read (and hashed) at a time; one S3 part each (S3 wants at least 5 MiB per part but the last).
CHUNK = 16 << 20


class AssetTarget(Protocol):
    where: str

    def url(self, rel: str) -> str: ...
    def sizes(self, folder: str) -> dict[str, int]: ...
    def upload(self, src: Path, folder: str, stem: str) -> tuple[str, str, int]: ...
    def read(self, rel: str) -> bytes | None: ...
    def write(self, rel: str, data: bytes, content_type: str) -> None: ...
    def listing(self, folder: str) -> list[str]: ...


def final_name(folder: str, stem: str, sha: str) -> str:
    """MindSpore Hub's own asset naming: the file name carries the sha256's first 8 hex digits."""
    return f"{folder}{stem}-{sha[:8]}.ckpt"


def check_rel(rel: str) -> str:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not rel:
        raise UsageError(f"{rel!r} is not a path inside the target")
    return rel


class DirTarget:
    """A folder, published at ``base_url`` (the URL its root is served at)."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")
        self.where = str(self.root)

    def url(self, rel: str) -> str:
        return f"{self.base_url}/{check_rel(rel) if rel else ''}"

    def sizes(self, folder: str) -> dict[str, int]:
        base = self.root / check_rel(folder)
        if not base.is_dir():
            return {}
        return {f"{folder}{p.name}": p.stat().st_size for p in base.iterdir() if p.is_file() and
                not p.name.startswith(".")}

    def upload(self, src: Path, folder: str, stem: str) -> tuple[str, str, int]:
        dest = self.root / check_rel(folder)
        dest.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".hub-publish", dir=dest)
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            for_others(tmp)
            sha = digest.hexdigest()
            rel = final_name(folder, stem, sha)
            if (self.root / rel).exists():
                return sha, rel, 0
            os.replace(tmp, self.root / rel)
            return sha, rel, src.stat().st_size
        except OSError as e:
            raise PublishError(self.where, f"copying {src.name} failed ({e}); nothing was published") from e
        finally:
            tmp.unlink(missing_ok=True)

    def read(self, rel: str) -> bytes | None:
        path = self.root / check_rel(rel)
        return path.read_bytes() if path.is_file() else None

    def write(self, rel: str, data: bytes, content_type: str) -> None:
        path = self.root / check_rel(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            for_others(Path(tmp))
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def listing(self, folder: str) -> list[str]:
        base = self.root / check_rel(folder)
        return sorted(f"{folder}{p.name}" for p in base.iterdir() if p.is_file()) if base.is_dir() else []


def _s3_failure(where: str, e: Exception) -> PublishError:
    """botocore's error as a line: what failed and what to do (credentials, the endpoint, the bucket)."""
    name = type(e).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return PublishError(where, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                            "AWS_PROFILE), and AWS_ENDPOINT_URL for a store other than AWS; nothing was published")
    code = str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
    if code in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return PublishError(where, f"the store refused it ({code}): check the bucket name and the credentials; "
                            "nothing was published")
    return PublishError(where, f"the S3 store failed ({e}); nothing was published, and publishing again "
                        "uploads only what is missing")


def _s3_calls(cls: type) -> type:
    """Every public method of an S3 target turns botocore's errors into a :class:`PublishError`."""
    import functools

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except PublishError:
                raise
            except Exception as e:
                if type(e).__module__.startswith(("botocore", "boto3", "urllib3")):
                    raise _s3_failure(self.where, e) from None
                raise
        return call

    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_"):
            setattr(cls, name, wrap(value))
    return cls


@_s3_calls
class S3Target:
    """``s3://bucket/prefix`` through boto3, published at ``base_url`` (default: the object URLs of the endpoint)."""

    def __init__(self, url: str, base_url: str | None = None, *, s3: Any = None,
                 settings: Settings | None = None) -> None:
        from hub_client.fetch.buckets import client, parse_url

        self.bucket, self.prefix = parse_url(url)
        self.s3 = s3 or client(settings or Settings())
        self.where = url
        self.base_url = (base_url or self._object_base()).rstrip("/")

    def _object_base(self) -> str:
        endpoint = str(self.s3.meta.endpoint_url).rstrip("/")
        return f"{endpoint}/{self.bucket}/{self.prefix}".rstrip("/")

    def url(self, rel: str) -> str:
        return f"{self.base_url}/{check_rel(rel) if rel else ''}"

    def sizes(self, folder: str) -> dict[str, int]:
        out: dict[str, int] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + folder)
        for page in pages:
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(self.prefix):]
                if "/" not in rel[len(folder):]:
                    out[rel] = int(obj["Size"])
        return out

    def upload(self, src: Path, folder: str, stem: str) -> tuple[str, str, int]:
        staging = f"{self.prefix}.incoming/{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        upload_id = self.s3.create_multipart_upload(Bucket=self.bucket, Key=staging)["UploadId"]
        parts = []
        try:
            with open(src, "rb") as f:
                number = 1
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk and number > 1:
                        break
                    digest.update(chunk)
                    got = self.s3.upload_part(Bucket=self.bucket, Key=staging, UploadId=upload_id,
                                              PartNumber=number, Body=chunk)
                    parts.append({"ETag": got["ETag"], "PartNumber": number})
                    number += 1
                    if len(chunk) < CHUNK:
                        break
            self.s3.complete_multipart_upload(Bucket=self.bucket, Key=staging, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})
        except Exception as e:
            self._abort(staging, upload_id)
            raise PublishError(self.where, f"uploading {src.name} failed ({e}); nothing was published, and "
                               "publishing again starts it over") from e
        sha = digest.hexdigest()
        rel = final_name(folder, stem, sha)
        try:
            if self.sizes(folder).get(rel) == src.stat().st_size:
                return sha, rel, 0
            self.s3.copy({"Bucket": self.bucket, "Key": staging}, self.bucket, self.prefix + rel,
                         ExtraArgs={"Metadata": {"sha256": sha}, "MetadataDirective": "REPLACE",
                                    "ContentType": "application/octet-stream"})
        except Exception as e:
            raise PublishError(self.where, f"storing {rel} failed ({e}); nothing was published") from e
        finally:
            self.s3.delete_object(Bucket=self.bucket, Key=staging)
        return sha, rel, src.stat().st_size

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:  # the bucket's lifecycle rule for incomplete uploads is the backstop
            pass

    def read(self, rel: str) -> bytes | None:
        from hub_client.fetch.buckets import get_small

        return get_small(self.s3, self.bucket, self.prefix + check_rel(rel))

    def write(self, rel: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self.prefix + check_rel(rel), Body=data, ContentType=content_type)

    def listing(self, folder: str) -> list[str]:
        return sorted(self.sizes(folder))

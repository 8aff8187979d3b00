"""Buckets: an S3 client that waits no longer than every other request of the hub, and the small reads and
writes both the mirror's bucket storage and ``hub publish s3://`` make.

Endpoint, region and credentials come from the standard ``AWS_*`` variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ...), read by boto3 itself, as every AWS tool reads them. boto3 is set to compute and
check checksums only when an operation requires them: its newer default adds CRC headers that several
third-party S3 servers reject.
"""

from __future__ import annotations

from typing import Any

from registry.errors import UsageError
from registry.settings import Settings

__all__ = ["client", "get_small", "missing", "parse_url", "put_small"]


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix ending in ``/`` or empty).

    Raises:
        UsageError: not an ``s3://`` URL with a bucket name.
    """
    if not url.startswith("s3://"):
        raise UsageError(f"{url!r} is not an S3 location: write s3://bucket/prefix")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket or any(c in bucket for c in " \\"):
        raise UsageError(f"{url!r} names no bucket: write s3://bucket/prefix")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def client(settings: Settings) -> Any:
    """A boto3 S3 client configured by boto3 from the ``AWS_*`` variables, checksums only where required, and
    waiting no longer than every other request of the hub: ``settings.timeout`` to connect and per read,
    ``settings.retries`` more tries (botocore's own defaults are 60 s and 4)."""
    import boto3
    from botocore.config import Config

    timeout = settings.timeout
    config = Config(request_checksum_calculation="when_required", response_checksum_validation="when_required",
                    retries={"total_max_attempts": settings.retries + 1, "mode": "standard"},
                    max_pool_connections=64, connect_timeout=timeout, read_timeout=timeout)
    return boto3.session.Session().client("s3", config=config)


def missing(e: Exception) -> bool:
    """A botocore error that says the key or bucket is not there."""
    code = str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def get_small(s3: Any, bucket: str, key: str) -> bytes | None:
    """A small object's bytes (a ref, a listing, an index entry); None when there is none."""
    from botocore.exceptions import ClientError

    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as e:
        if missing(e):
            return None
        raise


def put_small(s3: Any, bucket: str, key: str, body: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")

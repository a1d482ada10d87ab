"""Where images are kept and how links to them are made.

IMAGE_STORAGE=local: files under MEDIA_ROOT, served by this application at
``/api/v2/image/<signed token>``; the token names the file and expires after IMAGE_LINK_TTL.
IMAGE_STORAGE=s3: django-storages' presigned URLs, expiring after the same time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse

from generation.engine.runner import OUTPUT_FORMATS

log = logging.getLogger(__name__)
LINK_SALT = "imagegen.image-link"


def image_storage():
    return storages["images"]


def image_path(task_id, index: int, width: int, height: int, output_format: str = "png") -> str:
    """Hive's layout: ``image_generation/<task id>/image<i>_<w>_<h>.png`` (``.jpg``, ``.webp``)."""
    extension = OUTPUT_FORMATS[output_format][1]
    return f"image_generation/{task_id}/image{index}_{width}_{height}.{extension}"


def save_image(path: str, data: bytes) -> str:
    saved = image_storage().save(path, ContentFile(data))
    if saved != path:  # the backend renamed it: links would point at the wrong file
        raise RuntimeError(f"storage saved {path!r} as {saved!r}")
    return saved


def delete_images(paths: list[str]) -> None:
    """Remove stored images (a run whose task was cancelled while it stored them, or
    failed). A file that
    cannot be removed is logged and left: the task has no record pointing at it."""
    backend = image_storage()
    for path in paths:
        try:
            backend.delete(path)
        except Exception:  # noqa: BLE001 - a storage outage must not fail the job that already ended
            log.exception("could not remove %s", path)


def serves_own_links() -> bool:
    return settings.IMAGE_STORAGE == "local"


def image_url(path: str, *, base_url: str) -> str:
    if not serves_own_links():
        return image_storage().url(path)
    # "t": when it was minted, in ms (the signer's own time is in whole seconds): a link minted
    # while its tenant was suspended never serves (accounts.services.minted_while_suspended).
    minted = round(datetime.now(UTC).timestamp() * 1000)
    token = signing.TimestampSigner(salt=LINK_SALT).sign_object({"p": path, "t": minted}, compress=False)
    return base_url + reverse("image-file", kwargs={"token": token})


def path_from_token(token: str) -> str | None:
    """The storage path a link names, or None when the link is forged or expired."""
    signed = link_from_token(token)
    return signed[0] if signed else None


def link_from_token(token: str) -> tuple[str, datetime] | None:
    """(the storage path a link names, when it was minted), or None when the link is forged or
    expired."""
    signer = signing.TimestampSigner(salt=LINK_SALT)
    try:
        data = signer.unsign_object(token, max_age=settings.IMAGE_LINK_TTL)
        minted = signing.b62_decode(signing.Signer.unsign(signer, token).rsplit(signer.sep, 1)[-1])
    except (signing.BadSignature, ValueError):
        return None
    path = data.get("p") if isinstance(data, dict) else None
    if not isinstance(path, str):
        return None
    if isinstance(data.get("t"), int):  # links from before it: the signer's whole second
        minted = data["t"] / 1000
    return path, datetime.fromtimestamp(minted, tz=UTC)

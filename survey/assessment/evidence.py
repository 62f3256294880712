"""Evidence files: what may be uploaded, and where the bytes live.

A file is accepted by its content, never by its name alone: the first bytes must be those of
a PDF, an Office document or a picture, and agree with the extension. Anything else (an
executable, HTML, SVG, which can carry script) is refused with a message naming the reason.
Files are stored once per content hash outside the web root, so two departments uploading the
same decision share one copy, and a stored name can never be chosen by the uploader.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

# extension -> (content type, family the sniffed bytes must belong to)
ALLOWED = {
    "pdf": ("application/pdf", "pdf"),
    "png": ("image/png", "png"),
    "jpg": ("image/jpeg", "jpeg"),
    "jpeg": ("image/jpeg", "jpeg"),
    "doc": ("application/msword", "ole"),
    "xls": ("application/vnd.ms-excel", "ole"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "ooxml:word/"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "ooxml:xl/"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "ooxml:ppt/"),
    "odt": ("application/vnd.oasis.opendocument.text", "odf"),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", "odf"),
}
ACCEPT = ",".join("." + ext for ext in ALLOWED)


class EvidenceRefused(ValueError):
    pass


@dataclass(frozen=True)
class Accepted:
    filename: str
    content_type: str
    sha256: str
    size: int


def _family(data: bytes) -> str | None:
    head = data[:512]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return None
        if "mimetype" in names:
            return "odf"
        if "[Content_Types].xml" in names:
            for prefix in ("word/", "xl/", "ppt/"):
                if any(n.startswith(prefix) for n in names):
                    return "ooxml:" + prefix
    return None


def _dangerous(data: bytes) -> str | None:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"mz", b"\x7felf", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")):
        return "tệp chương trình (thực thi) không được phép tải lên"
    if b"<svg" in head:
        return "ảnh SVG có thể chứa mã lệnh nên không được chấp nhận; vui lòng chuyển sang PDF hoặc PNG"
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<script", b"<head", b"<body")):
        return "tệp HTML/XML không được chấp nhận làm tài liệu kiểm chứng"
    return None


def check(filename: str, data: bytes, max_bytes: int) -> Accepted:
    """The upload as it will be stored, or EvidenceRefused with the reason in Vietnamese."""
    name = (filename or "").strip()
    if not name:
        raise EvidenceRefused("Vui lòng chọn tệp tài liệu kiểm chứng.")
    if any(c in name for c in "/\\\0") or name in (".", "..") or len(name) > 255:
        raise EvidenceRefused("Tên tệp không được chứa dấu phân cách thư mục (/ hoặc \\).")
    if not data:
        raise EvidenceRefused("Tệp rỗng.")
    if len(data) > max_bytes:
        raise EvidenceRefused(f"Tệp vượt quá dung lượng cho phép ({max_bytes // (1024 * 1024)} MB).")
    danger = _dangerous(data)
    if danger:
        raise EvidenceRefused(f"“{name}”: {danger}.")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED:
        raise EvidenceRefused(f"“{name}”: chỉ nhận PDF, Word, Excel, PowerPoint, OpenDocument, PNG hoặc JPEG.")
    content_type, family = ALLOWED[ext]
    if _family(data) != family:
        raise EvidenceRefused(f"“{name}”: nội dung tệp không phải là tệp .{ext} hợp lệ.")
    return Accepted(name, content_type, hashlib.sha256(data).hexdigest(), len(data))


def storage_dir() -> Path:
    configured = current_app.config.get("ASSESSMENT_EVIDENCE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "evidence"


def max_bytes() -> int:
    return int(current_app.config.get("ASSESSMENT_EVIDENCE_MAX_BYTES") or DEFAULT_MAX_BYTES)


def path_for(sha256: str, root: Path | None = None) -> Path:
    return (root or storage_dir()) / sha256[:2] / sha256


def store(accepted: Accepted, data: bytes, root: Path | None = None) -> Path:
    """Write the bytes under their hash (once). Written before the commit: a rolled-back upload
    leaves an unreferenced file, harmless because the name is its content."""
    target = path_for(accepted.sha256, root)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{accepted.sha256}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)  # atomic: a reader never sees half a file
    return target

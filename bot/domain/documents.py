"""The owner's own invoice document (/attach): a PDF Telegram holds, known by its file id."""

from __future__ import annotations

from dataclasses import dataclass

# Telegram lets a bot download files up to 20 MB; a bigger one could never be read back.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_NAME = 255


class DocumentError(ValueError):
    """A file that cannot be an invoice document; the message is the refusal's code."""


@dataclass(frozen=True)
class InvoiceDocument:
    file_id: str
    name: str
    size: int
    mime_type: str = ""


def check_document(document: InvoiceDocument) -> InvoiceDocument:
    """A PDF (by its type, or its name when the type is missing) of at most 20 MB."""
    mime = document.mime_type.lower()
    untyped = mime in ("", "application/octet-stream")
    if mime != "application/pdf" and not (untyped and document.name.lower().endswith(".pdf")):
        raise DocumentError("attach_not_pdf")
    if document.size > MAX_DOCUMENT_BYTES:
        raise DocumentError("attach_too_large")
    if not document.file_id or len(document.file_id) > 200:
        raise DocumentError("attach_not_pdf")
    return InvoiceDocument(document.file_id, document.name[:MAX_NAME], document.size, mime)

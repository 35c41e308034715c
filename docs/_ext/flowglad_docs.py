"""The Sphinx side of the docs' generated text.

The reference tables, code excerpts and the API page are plain Markdown written into the
pages by ``flowglad_reference.py``, so they read the same on GitHub. The build refuses a
page whose generated text is out of date, and ships the OpenAPI document of the React SDK's
routes as ``openapi.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flowglad_reference as reference
from sphinx.application import Sphinx
from sphinx.util import logging

from flask_flowglad.protocol.openapi import openapi_document

#: Where the build writes the document, relative to the HTML output.
OPENAPI_FILE = "openapi.json"

logger = logging.getLogger(__name__)


def refuse_stale_pages(app: Sphinx) -> None:
    """A warning (an error under ``-W``) for each page whose generated text is stale."""
    for path in reference.stale_files():
        logger.warning(
            "%s: generated text is out of date; run %s",
            path.relative_to(reference.ROOT),
            reference.COMMAND,
        )


def write_openapi(app: Sphinx, exception: Exception | None) -> None:
    """Ship the document next to the HTML pages."""
    if exception is None and app.builder.format == "html":
        document = openapi_document()
        target = Path(app.outdir) / OPENAPI_FILE
        target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", refuse_stale_pages)
    app.connect("build-finished", write_openapi)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""The portal's fonts, served by the server from the packages that ship them (nothing fetched,
nothing committed): Noto Sans Arabic for Persian script (it draws ی, ک, گ, پ, چ, ژ, the
zero-width non-joiner and the Persian digits ۰-۹ well) and Noto Sans for Latin text, both
variable fonts (every weight in one file) under the SIL Open Font License 1.1, installed from
PyPI as `fontpkg-noto-sans-arabic` and `fontpkg-noto-sans`.

portal.css names them as one family, "Portal Sans", the Arabic face limited to the Arabic
blocks by `unicode-range`, so a browser loads the Arabic file only for pages that have Persian
text. Only the files listed in FONTS are served (a name is looked up, never joined to a path).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from sdmx_server.errors import NoResults

#: URL name -> (package, file in the package's files/ folder)
FONTS: dict[str, tuple[str, str]] = {
    "noto-sans-arabic.ttf": ("fontpkg_noto_sans_arabic", "NotoSansArabic[wdth,wght].ttf"),
    "noto-sans.ttf": ("fontpkg_noto_sans", "NotoSans[wdth,wght].ttf"),
}
#: A day: the names do not carry the package's version, the ETag tells a browser whether it changed.
CACHE = "public, max-age=86400"


def font_path(name: str) -> Path | None:
    found = FONTS.get(name)
    if found is None:
        return None
    spec = importlib.util.find_spec(found[0])
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "files" / found[1]
    return path if path.is_file() else None


def licence_path(name: str) -> Path | None:
    found = FONTS.get(name)
    spec = importlib.util.find_spec(found[0]) if found else None
    return Path(spec.origin).parent / "LICENSE" if spec and spec.origin else None


async def font(request: Request) -> Response:
    """A font of the portal (TrueType), from the package that ships it."""
    path = font_path(request.path_params["name"])
    if path is None:
        raise NoResults(f"no font {request.path_params['name']!r}")
    return FileResponse(path, media_type="font/ttf", headers={"Cache-Control": CACHE})


routes = [Route("/static/fonts/{name}", font, methods=["GET", "HEAD"])]

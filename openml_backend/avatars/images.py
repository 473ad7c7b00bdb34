"""Turning an uploaded picture into a profile picture: free of Flask, bytes in, bytes out.

An upload is accepted only when its first bytes say JPEG, PNG or WebP (the file name and the
Content-Type the client sent are never trusted) and Pillow, told to expect that one format,
decodes it completely. The answer is always a new 256x256 WebP built from the decoded pixels
alone: the centre square, turned upright by the EXIF orientation first, resized. Nothing of
the upload's metadata (EXIF with its GPS position, XMP, ICC profile, comments) is carried
over, because the new image is made from raw pixels and saved without any.

Decompression bombs: a small file may declare a huge canvas. The declared size is checked
against MAX_PIXELS before any pixel is decoded, and Pillow's own limit (Image.MAX_IMAGE_PIXELS,
set to the same value here) stops its decoders too. Pillow would only *warn* between one and
two times its limit: that warning is made an error when this module is imported, and the
explicit check refuses that range whatever the warning filters are (`warnings.catch_warnings`
per call would change process-wide state, which is not safe in a threaded worker).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

AVATAR_SIZE = 256
AVATAR_FORMAT = "WEBP"
AVATAR_MIMETYPE = "image/webp"
WEBP_QUALITY = 85
# 6000 x 6000: more than any camera photo under 5 MB needs, and at most ~144 MB of RGBA while
# decoding (a JPEG is decoded at a reduced scale, see `make_avatar`).
MAX_PIXELS = 36_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

# The accepted formats by their signatures (Pillow's format names).
_SIGNATURES = (
    ("JPEG", 0, b"\xff\xd8\xff"),
    ("PNG", 0, b"\x89PNG\r\n\x1a\n"),
    ("WEBP", 8, b"WEBP"),  # after "RIFF" and the 4-byte size, checked below
)


class ImageRefused(ValueError):
    """The upload cannot become an avatar; `code` says why (a stable API error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sniff_format(data: bytes) -> str | None:
    """The accepted format ("JPEG", "PNG" or "WEBP") that `data` starts like, else None."""
    for name, offset, signature in _SIGNATURES:
        if data[offset:offset + len(signature)] == signature and (name != "WEBP" or data[:4] == b"RIFF"):
            return name
    return None


def make_avatar(data: bytes, max_pixels: int = MAX_PIXELS) -> bytes:
    """The 256x256 WebP profile picture made from the JPEG, PNG or WebP `data`, with no metadata.

    Raises ImageRefused: `unsupported_image_type` (not one of the three formats by content),
    `image_too_many_pixels` (declares more than `max_pixels`), `invalid_image` (truncated or
    corrupt: Pillow cannot decode it completely).
    """
    kind = sniff_format(data)
    if kind is None:
        raise ImageRefused("unsupported_image_type", "The file is not a JPEG, PNG or WebP image.")
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRefused("image_too_many_pixels",
                                   f"The image declares {width}x{height} pixels; at most {max_pixels} are accepted.")
            if kind == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale while both sides stay >= 256.
                image.draft(None, (AVATAR_SIZE, AVATAR_SIZE))
            image.load()
            upright = ImageOps.exif_transpose(image)
            square = ImageOps.fit(_plain_mode(upright), (AVATAR_SIZE, AVATAR_SIZE),
                                  method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("image_too_many_pixels",
                           f"The image declares more than {max_pixels} pixels.") from None
    except Exception:  # Pillow's errors for broken files are OSError, ValueError, SyntaxError, ...
        raise ImageRefused("invalid_image", "The image is truncated or corrupt.") from None
    return _bare_webp(square)


def _plain_mode(image: Image.Image) -> Image.Image:
    """`image` as RGB, or RGBA when it has transparency (palette, grey and CMYK converted)."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.has_transparency_data:
        return image.convert("RGBA")
    if image.mode.startswith("I"):  # 16- and 32-bit greyscale PNGs: scale to 8 bits first
        return image.point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def _bare_webp(image: Image.Image) -> bytes:
    """`image`'s pixels alone, saved as WebP: a new image from raw bytes has no `info` to leak,
    and nothing is passed for exif, xmp or icc_profile."""
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    bare.save(out, AVATAR_FORMAT, quality=WEBP_QUALITY, method=4)
    return out.getvalue()

"""Request and response bodies of the avatar endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AvatarUpload(BaseModel):
    """The multipart/form-data body of PUT /users/me/avatar."""

    model_config = ConfigDict(title="AvatarUpload")

    image: bytes = Field(description="A JPEG, PNG or WebP file of at most AVATAR_MAX_MB MiB (recognised by "
                                     "its content, not its name or Content-Type).")


class Avatar(BaseModel):
    """Where the stored profile picture is served, and its ETag."""

    image: str = Field(description="The picture's URL, as now stored in the profile's `image`.")
    etag: str = Field(description="The sha256 (hex) of the served WebP; its ETag.", pattern="^[0-9a-f]{64}$")

"""Fixtures for the profile picture tests: an app whose confirmation mail is captured (so a
real account can sign up), a signed-in user, and pictures made with Pillow."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from tests.helpers import AccountActions

PUBLIC_URL = "https://api.openml.test"
AVATAR_ENV = {"URL_API": PUBLIC_URL}


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp_settings: dict[str, Any]) -> Flask:
    """A testing app on a clean database, mail to the capturing SMTP server, URL_API set."""
    return make_app(env=AVATAR_ENV, **smtp_settings)


@dataclass(frozen=True)
class SignedIn:
    """A confirmed account, its id and the access token of one login."""

    email: str
    user_id: int
    access_token: str


@pytest.fixture
def signed_in(accounts: AccountActions) -> SignedIn:
    """Ada's account, signed up, confirmed and logged in."""
    email = "ada@example.org"
    accounts.confirmed_user(email)
    token = accounts.login(email)["access_token"]
    return SignedIn(email, accounts.me(token).json["id"], token)


def encoded(image: Image.Image, image_format: str, **options: Any) -> bytes:
    """`image` saved in `image_format` with Pillow."""
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def picture(image_format: str, size: tuple[int, int] = (640, 480), **options: Any) -> bytes:
    """A plain orange picture of `size` in `image_format`."""
    return encoded(Image.new("RGB", size, (240, 120, 10)), image_format, **options)

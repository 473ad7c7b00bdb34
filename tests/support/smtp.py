"""A real SMTP server for tests (aiosmtpd) that keeps every message it receives, plus the two
broken servers the email rules are tested against: nothing listening, and a server that
accepts connections and never says a word."""

from __future__ import annotations

import contextlib
import email
import email.policy
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.services import free_port

# aiosmtpd logs every connection at INFO; the tests read the mailbox instead.
logging.getLogger("mail.log").setLevel(logging.WARNING)

TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_\-]+)")


class Mailbox:
    """aiosmtpd handler: stores each message (parsed) with its envelope recipients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(([address.lower() for address in envelope.rcpt_tos], message))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        """Every message delivered to `address`, oldest first."""
        with self._lock:
            return [message for recipients, message in self.messages if address.lower() in recipients]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait (bounded) until `address` has at least `count` messages; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{address} got {len(self.to(address))} messages, expected {count} within {timeout}s")


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of `message`."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (text.get_content() if text else ""), (html.get_content() if html else "")


def token_from(message: EmailMessage) -> str:
    """The token of the link in `message`'s text body."""
    text, _html = bodies(message)
    match = TOKEN_IN_LINK.search(text)
    assert match, f"no link with a token in: {text!r}"
    return match.group(1)


@contextlib.contextmanager
def running_smtp_server(port: int | None = None) -> Iterator[tuple[int, Mailbox]]:
    """Run aiosmtpd on 127.0.0.1 (a free port unless given); yield (port, mailbox)."""
    mailbox = Mailbox()
    port = port or free_port()  # aiosmtpd cannot bind port 0 (FACTS.md)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


@contextlib.contextmanager
def silent_smtp_server() -> Iterator[int]:
    """A port where the kernel completes the TCP handshake but nobody ever answers (the
    socket listens and is never accepted from). Yields the port."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])

"""Account emails: rendered from text and HTML templates, sent in the background with a
bounded SMTP exchange.

Why not `mail.send()`: Flask-Mail 0.10 opens `smtplib.SMTP(server, port)` with no timeout, so
a silent server blocks the worker forever. Here the smtplib connection is built
with `timeout=SMTP_TIMEOUT`, which applies to the connect and to every read and write of that
one socket; it is thread-safe, unlike `socket.setdefaulttimeout`, which would change every
socket of the process. Flask-Mail's `Message` still renders the MIME message.

Why in the background: the answer to signup, resend and forgot must not depend on whether an
email is sent, how long SMTP takes, or whether it fails (timing would reveal which addresses
have accounts). Messages are rendered in the request, after the database commit, and handed
to a small per-process thread pool; a failure is logged without the recipient's token. Work whose duration would depend on
whether an address has an account (the lookup, the insert, the rendering) can run in the same
pool after the answer (`run_after_response`); mail it sends is then delivered in that thread.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from flask import current_app, render_template
from flask_mail import Message

from .. import metrics

log = logging.getLogger(__name__)

SENDER_THREADS = 2

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None
_pending: set[Future] = set()
_in_background = threading.local()  # set while a pool thread runs run_after_response work


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to deliver: read from the app config in the request thread."""

    server: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    timeout: float

    @classmethod
    def from_config(cls, config: Any) -> SmtpSettings:
        return cls(config["MAIL_SERVER"], int(config["MAIL_PORT"]), config.get("MAIL_USERNAME"),
                   config.get("MAIL_PASSWORD"), bool(config.get("MAIL_USE_TLS")), float(config["SMTP_TIMEOUT"]))


def render_message(to: str, subject: str, template: str, reply_to: str | None = None, **context: Any) -> Message:
    """Build a Message for `to` with the text and HTML bodies of `accounts/email/<template>`."""
    context.setdefault("site", current_app.config["EMAIL_SERVER"])
    return Message(
        subject=subject,
        recipients=[to],
        body=render_template(f"accounts/email/{template}.txt", **context),
        html=render_template(f"accounts/email/{template}.html", **context),
        reply_to=reply_to,
    )


def deliver(settings: SmtpSettings, sender: str, recipients: list[str], payload: bytes) -> None:
    """Send one message over SMTP; every network step is bounded by `settings.timeout`."""
    with smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout) as connection:
        if settings.use_tls:
            connection.starttls(context=ssl.create_default_context())
        if settings.username and settings.password:
            connection.login(settings.username, settings.password)
        connection.sendmail(sender, recipients, payload)


def _deliver_logged(settings: SmtpSettings, sender: str, recipients: list[str], payload: bytes, template: str) -> bool:
    try:
        deliver(settings, sender, recipients, payload)
    except Exception as error:  # any failure: log it, the client's answer was already sent
        log.warning("email not sent", extra={"template": template, "error_type": type(error).__name__,
                                             "smtp_server": f"{settings.server}:{settings.port}"})
        metrics.email_attempted(template, sent=False)
        return False
    log.info("email sent", extra={"template": template})
    metrics.email_attempted(template, sent=True)
    return True


def _pool() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    with _lock:
        # A pool inherited through fork has no threads; each process makes its own.
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=SENDER_THREADS, thread_name_prefix="email")
            _executor_pid = os.getpid()
            _pending.clear()
        return _executor


def send_email(to: str, subject: str, template: str, reply_to: str | None = None, **context: Any) -> None:
    """Render the email now and deliver it in the background; never raises for SMTP trouble."""
    message = render_message(to, subject, template, reply_to=reply_to, **context)
    settings = SmtpSettings.from_config(current_app.config)
    recipients = [str(address) for address in message.send_to]
    arguments = (settings, str(message.sender), recipients, message.as_bytes(), template)
    if getattr(_in_background, "active", False):
        _deliver_logged(*arguments)  # already after the answer, in a pool thread
        return
    _track(_pool().submit(_deliver_logged, *arguments))


def run_after_response(work: Callable[..., None], *args: Any) -> None:
    """Run `work(*args)` in the email pool inside an app context of the current app, so the
    request can answer before it (and without waiting for it). A failure is logged by type."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def in_app_context() -> None:
        _in_background.active = True
        try:
            with app.app_context():
                work(*args)
        except Exception as error:  # the answer is sent; log it like a failed email
            log.warning("background account work failed",
                        extra={"work": getattr(work, "__name__", "work"), "error_type": type(error).__name__})
        finally:
            _in_background.active = False

    _track(_pool().submit(in_app_context))


def _track(future: Future) -> None:
    with _lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future) -> None:
    with _lock:
        _pending.discard(future)


def wait_for_pending(timeout: float) -> bool:
    """Wait up to `timeout` seconds for queued emails to finish; True when none is left.
    (Used at worker shutdown and by tests that need to know every email was attempted.)"""
    with _lock:
        pending = set(_pending)
    done, not_done = wait(pending, timeout=timeout)
    return not not_done

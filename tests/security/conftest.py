"""The accounts tests' capturing SMTP server and helpers, for the security tests that log in."""

from tests.accounts.conftest import accounts, app, mailbox, smtp_server, smtp_settings  # noqa: F401

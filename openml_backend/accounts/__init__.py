"""User accounts: signup with email confirmation, login with JWT, refresh rotation, logout
everywhere, profile, API key, password reset and feedback (issue 4)."""

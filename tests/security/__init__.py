"""Security properties: response headers, the client address behind proxies, gunicorn edge answers."""

"""openml-backend: the Flask backend of openml.org (placeholder; the service core replaces this file)."""

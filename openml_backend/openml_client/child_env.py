"""Imported in the fetch process before ``openml``: keeps the client's import side effects private.

``import openml`` reads ``~/.config/openml/config`` (a developer's own API key or server
would leak into the service) and creates that folder and a cache root, which fails on a
read-only root filesystem. Pointing ``XDG_CONFIG_HOME`` and ``OPENML_CACHE_DIR`` at a folder
under the temporary directory (an emptyDir in Kubernetes) avoids both; every fetch then sets
the real server, key, retries and cache root explicitly. Only the fetch process (the
forkserver and its children) imports this module, so the web worker's environment is
untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CLIENT_HOME = Path(tempfile.gettempdir()) / f"openml-backend-client-{os.getuid()}"
os.environ["XDG_CONFIG_HOME"] = str(CLIENT_HOME / "config")
os.environ["OPENML_CACHE_DIR"] = str(CLIENT_HOME / "cache")

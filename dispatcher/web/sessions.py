"""The web pages' sessions: a secret key every worker agrees on, and the cookie's flags."""

from __future__ import annotations

import os
import secrets
import tempfile

from dispatcher.settings import Settings

SECRET_FILE = "secret_key"


def instance_secret(instance_path: str) -> str:
    """Return the secret kept in the instance folder, making it on first use.

    Several workers may start at once: the key is written to a temporary file and linked into
    place, which fails if another worker was first; then everyone reads the winner's key.
    """
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, SECRET_FILE)
    if not os.path.exists(path):
        fd, temp = tempfile.mkstemp(dir=instance_path, prefix=".secret-")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
    with open(path) as kept:
        key = kept.read().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it, or set DISPATCHER_SECRET_KEY")
    return key


def session_config(settings: Settings, instance_path: str) -> dict:
    """Return the Flask settings of the session cookie and the key that signs it."""
    return {
        "SECRET_KEY": settings.secret_key or instance_secret(instance_path),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.public_base_url.startswith("https://"),
    }

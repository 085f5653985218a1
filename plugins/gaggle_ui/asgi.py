"""The dashboard as the api-server mounts it: an ASGI app built on its first request.

Airflow imports every plugin file in every process that loads plugins, each task's
process included (it integrates plugin macros into the template context). Building the
FastAPI app at import would load the api-server's security module and models there for
nothing; only the api-server ever calls the app. So the plugin file imports only this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

URL_PREFIX = "/gaggle"


def dashboard():
    from gaggle_ui.app import create_app

    return create_app()


class DeferredApp:
    """Builds the app with `factory` when the first request (or lifespan event) arrives."""

    def __init__(self, factory: Callable = dashboard) -> None:
        self._factory = factory
        self._app = None
        self._lock = threading.Lock()

    @property
    def app(self):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._factory()
        return self._app

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)

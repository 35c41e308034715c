"""The running stack of the fidelity test, as its tests drive it: the sandbox and Flowglad's
own Node server SDK in front of it, each its own process on 127.0.0.1."""

from __future__ import annotations

from dataclasses import dataclass

import requests

SECRET_KEY = "sk_test_fidelity"


@dataclass
class Stack:
    """The sandbox and the Node app in front of it, each its own process on 127.0.0.1."""

    sandbox_url: str
    app_url: str

    def control(self, route: str, **body: object) -> dict[str, object]:
        """A test control of the sandbox, over HTTP."""
        response = requests.post(
            f"{self.sandbox_url}/_sandbox/v1{route}",
            json=body,
            headers={"Authorization": SECRET_KEY},
            timeout=10,
        )
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data

    def api(self, path: str) -> dict[str, object]:
        """A read of Flowglad's API on the sandbox, as a second opinion on the page."""
        response = requests.get(
            f"{self.sandbox_url}/api/v1{path}", headers={"Authorization": SECRET_KEY}, timeout=10
        )
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data

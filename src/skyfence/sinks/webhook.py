"""Alerts POSTed as JSON to an HTTP(S) endpoint (stdlib ``urllib``)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from skyfence.sinks.base import SinkError, alert_json

__all__ = ["WebhookSink"]

#: bytes of a response body read (and discarded) before the connection is closed
_MAX_BODY = 65_536


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a POST must reach the configured URL, not wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class WebhookSink:
    """POST each alert revision as a JSON object; any answer but 2xx is a failure.

    Headers sent: ``Content-Type: application/json``, ``User-Agent: SkyFence``,
    ``Idempotency-Key: skyfence-<alert_id>-<revision>`` (delivery is at least
    once: a receiver that crashed after answering may see a revision again),
    then the configured ones.  Redirects are not followed (a 3xx is a failure).

    Parameters
    ----------
    url:
        ``http://`` or ``https://`` endpoint.
    timeout_s:
        Connect and read timeout, seconds (keep it short: the dispatcher waits
        for it).
    headers:
        Extra request headers (e.g. ``Authorization``).
    name:
        The sink's name (stable: the delivery record is kept per name).
    proxy:
        HTTP proxy URL; None: connect directly (environment proxies are ignored).
    """

    def __init__(self, url: str, timeout_s: float = 2.0,
                 headers: Mapping[str, str] | None = None, *, name: str = "webhook",
                 proxy: str | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must start with http:// or https://; got {url!r}")
        self.name = name
        self.url = url
        self.timeout_s = float(timeout_s)
        self.headers = dict(headers or {})
        proxies = {"http": proxy, "https": proxy} if proxy else {}
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies),
                                                   _NoRedirect())

    def send(self, alert: dict[str, Any]) -> None:
        """POST the alert; raises :class:`SinkError` unless the answer is 2xx."""
        body = json.dumps(alert_json(alert), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"), default=str).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SkyFence",
            "Idempotency-Key": f"skyfence-{alert.get('alert_id')}-{alert.get('revision')}",
            **self.headers,
        }
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout_s) as resp:
                status = resp.status
                resp.read(_MAX_BODY)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise SinkError(f"{self.url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                reason = f"timed out after {self.timeout_s:g} s"
            raise SinkError(f"{self.url}: {reason}") from None
        except TimeoutError:
            raise SinkError(f"{self.url}: timed out after {self.timeout_s:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise SinkError(f"{self.url}: {type(exc).__name__}: {exc}") from None
        if not 200 <= status < 300:
            raise SinkError(f"{self.url}: HTTP {status}")

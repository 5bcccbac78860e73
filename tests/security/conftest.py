"""The security probes drive the same in-process app as the e2e tests."""

from tests.e2e.conftest import app, app_res, auth, client, workers

__all__ = ["app", "app_res", "auth", "client", "workers"]

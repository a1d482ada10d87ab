"""The callback receiver and worker of tests/callbacks, for the suspension tests."""

from tests.callbacks.conftest import callback_settings, receiver, run_callback_worker  # noqa: F401 (fixtures)

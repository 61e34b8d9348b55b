import time

import pytest
from quixstreams import Application

from cartstream.topologies.exceptions import CartstreamError
from cartstream.topologies.idle_commit import check_supported, commit_when_idle


class Checkpoint:
    """Stands in for Quix's checkpoint: only what the hook reads."""

    def __init__(self, empty: bool, age_s: float):
        self._empty = empty
        self._created_at = time.monotonic() - age_s

    def empty(self) -> bool:
        return self._empty


@pytest.fixture
def app(tmp_path) -> Application:
    # Building an Application connects to nothing; the broker address is never dialled.
    app = Application(broker_address="127.0.0.1:1", consumer_group="g", state_dir=str(tmp_path),
                      processing_guarantee="exactly-once", loglevel=None)
    calls = []
    app._consumer.consume = lambda *args, **kwargs: calls.append("consume") or []
    app._processing_context.commit_checkpoint = lambda force=False, revoking=False: calls.append(f"commit {force}")
    app.calls = calls
    return app


def test_the_installed_quixstreams_has_the_parts_the_hook_uses(app):
    check_supported(app)
    assert app._processing_context._checkpoint is None  # set once the application runs


@pytest.mark.parametrize(("empty", "age_s", "expected"), [
    (False, 0.05, ["commit True", "consume"]),  # work waiting, old enough: commit before waiting
    (False, 0.001, ["consume"]),                # too young: the next event may join it
    (True, 0.05, ["consume"]),                  # nothing to commit
])
def test_commits_before_waiting_for_input_only_work_old_enough(app, empty, age_s, expected):
    commit_when_idle(app, min_age_s=0.025)
    app._processing_context._checkpoint = Checkpoint(empty, age_s)
    assert app._consumer.consume(num_messages=10, timeout=0.01) == []
    assert app.calls == expected


def test_an_application_without_those_parts_is_refused(app):
    del app._processing_context
    with pytest.raises(CartstreamError, match="CARTSTREAM_IDLE_COMMIT_S=0"):
        check_supported(app)

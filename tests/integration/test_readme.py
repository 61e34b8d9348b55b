"""The README's producer and consumer snippets, run exactly as written against the real broker.

Each runs in a child process whose environment carries the test's topic prefix, which the
snippets read from ``CARTSTREAM_TOPIC_PREFIX`` as an operator's shell would pass it.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading

import orjson

from cartstream.operators.validation import Accepted, validate_record
from cartstream.schemas.examples import EXAMPLES

from tests.integration.support import ROOT, consume_until, produce, settings_env
from tests.unit.test_readme import python_snippet


def test_readme_producer_snippet_sends_a_valid_click_and_cart_add(settings):
    result = subprocess.run([sys.executable, "-c", python_snippet("Producer(")], cwd=ROOT,
                            env=settings_env(settings), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

    for topic, example in (("clicks", EXAMPLES["Click"]), ("carts", EXAMPLES["CartEvent"])):
        [record] = consume_until(settings, topic, lambda ms: len(ms) >= 1)
        assert (record.key(), orjson.loads(record.value())) == (b"u-4821", example)
        assert isinstance(validate_record(topic, record.key(), record.value()), Accepted)


def test_readme_consumer_snippet_prints_each_recommendation(settings):
    produce(settings, "recommendations", [("u-4821", dict(EXAMPLES["Recommendation"]))])
    # -u: the snippet's prints reach the pipe as they happen, not when a buffer fills.
    proc = subprocess.Popen([sys.executable, "-u", "-c", python_snippet("Consumer(")], cwd=ROOT,
                            env=settings_env(settings), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=60) == "u-4821 ['r17-garlic-naan', 'r17-mango-lassi']\n"
    finally:
        # Ctrl-C, as a reader would stop it: the snippet's `finally` closes the consumer and
        # leaves its group, so the next run is not held up by a departed member.
        proc.send_signal(signal.SIGINT)
        proc.wait(30)

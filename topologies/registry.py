"""Topology name -> the module that builds it, imported only when that topology runs."""

from __future__ import annotations

import gc
import importlib
import logging

from .app_stopper import AppStopper
from .exceptions import CartstreamError
from .settings import Settings

log = logging.getLogger(__name__)

# Lazy on purpose: `cartstream infra ...` must not pay for importing Quix Streams.
TOPOLOGIES: dict[str, str] = {
    "user-activity": "cartstream.topologies.user_activity",
    "item-stats": "cartstream.topologies.item_stats",
    "recommender": "cartstream.topologies.recommender",
    "trainer": "cartstream.topologies.trainer",
    "embedder": "cartstream.topologies.embedder",
}


#: The topologies built on Quix Streams Applications: they run in generations and can be replayed.
REPLAYABLE = ("item-stats", "recommender", "user-activity")


def topology_module(name: str):
    """The module that builds topology `name`; raises CartstreamError naming the choices."""
    try:
        return importlib.import_module(TOPOLOGIES[name])
    except KeyError:
        raise CartstreamError(f"unknown topology {name!r}; choose one of {', '.join(sorted(TOPOLOGIES))}") from None


def run_topology(name: str, settings: Settings) -> None:
    """Run topology `name` until it is stopped; the embedder and trainer have loops of their own.

    A replayable topology serves its live generation and stops when a rebuilt one takes over.
    """
    module = topology_module(name)
    if name not in REPLAYABLE:
        module.run(settings)
        return
    from .generations import GenerationWatch

    watch = GenerationWatch(settings, name).start()
    try:
        generation = watch.latest.live
        if watch.latest.superseded(generation):
            raise CartstreamError(f"generation {watch.latest.rebuild['generation']} of {name} is taking over; "
                                  "start again once it is live")
        app = module.build(settings.model_copy(update={"generation": generation}))
        # Everything built so far (global tables, indexes, models) lives as long as the
        # process: out of the cyclic collector's sight, a full collection no longer walks
        # it and stalls the stream (150 ms per collection with a 10k-item catalog).
        gc.freeze()
        stopper = AppStopper(app)

        def step_down() -> None:
            log.info("generation %d of %s was superseded: stopping", generation, name)
            stopper.stop()

        watch.guard(generation, step_down)
        log.info("%s running: generation %d, consumer group %s", name, generation,
                 settings.model_copy(update={"generation": generation}).consumer_group(name))
        stopper.run()
    finally:
        watch.stop()

"""The `cartstream` command: infrastructure, topics, topologies, schemas, dead letters and the demo."""

from __future__ import annotations

import os

# Before anything imports numpy: its BLAS would spread each small matrix product over two
# threads that spin, and on 2 cores shared with the broker the recommender's step took twice
# the time (3.3 vs 1.7 ms per event, bench/recommend_step.py). The topologies are one
# stream thread each; a deployment that wants BLAS threads sets the variable itself.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import logging
import sys
import warnings
from pathlib import Path
from typing import Callable

from confluent_kafka import KafkaException
from pydantic import ValidationError
from pydantic_settings import SettingsError

from ..compose.exceptions import InfraError
from ..compose.infra import LocalInfra
from ..models.exceptions import ModelsError
from .clients import describe_kafka_error
from .exceptions import CartstreamError
from .registry import REPLAYABLE, TOPOLOGIES
from .settings import Settings, unknown_variables

SETTING_FLAGS = {
    "--bootstrap-servers": ("bootstrap_servers", str),
    "--redis-url": ("redis_url", str),
    "--topic-prefix": ("topic_prefix", str),
    "--partitions": ("partitions", int),
    "--group-prefix": ("group_prefix", str),
    "--state-dir": ("state_dir", str),
    "--data-dir": ("data_dir", str),
    "--kafka-port": ("kafka_port", int),
    "--redis-port": ("redis_port", int),
    "--metrics-port": ("metrics_port", int),
    "--commit-interval": ("commit_interval", float),
}


def _settings_parent() -> argparse.ArgumentParser:
    # SUPPRESS keeps an unset flag out of the namespace, so env variables and defaults apply.
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("settings (also CARTSTREAM_<NAME> environment variables)")
    for flag, (dest, kind) in SETTING_FLAGS.items():
        field = Settings.model_fields[dest]
        default = "" if field.default in ("", None) else f"; default {field.default}"
        group.add_argument(flag, dest=dest, type=kind, default=argparse.SUPPRESS,
                           help=f"{field.description or dest} (CARTSTREAM_{dest.upper()}{default})")
    return parent


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from CLI flags over environment variables over defaults."""
    given = {dest: getattr(args, dest) for dest, _ in SETTING_FLAGS.values() if hasattr(args, dest)}
    return Settings(**given)


def cmd_infra(args: argparse.Namespace) -> int:
    infra = LocalInfra.from_settings(settings_from(args))
    if args.action == "up":
        started = infra.up()
        for status in infra.status():
            print(status.line())
        print("started: " + (", ".join(started) if started else "nothing (already running)"))
    elif args.action == "down":
        stopped = infra.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing (was not running)"))
    elif args.action == "status":
        statuses = infra.status()
        for status in statuses:
            print(status.line())
        return 0 if all(s.running for s in statuses) else 3
    else:
        print(infra.logs(args.service, args.lines))
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from .topics import admin_client, create_topics, existing_topics

    settings = settings_from(args)
    if args.action == "create":
        for name, outcome in sorted(create_topics(settings).items()):
            print(f"{name:<40} {outcome}")
    else:
        for name, partitions in sorted(existing_topics(admin_client(settings)).items()):
            if name.startswith(settings.topic_prefix) and not name.startswith("__"):
                print(f"{name:<40} {partitions} partitions")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from . import logs
    from .registry import run_topology

    settings = settings_from(args)
    logs.configure(args.topology)
    run_topology(args.topology, settings)
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from .model_admin import all_snapshots, rollback, snapshots_of

    settings = settings_from(args)
    if args.action == "list":
        if args.version is not None:
            print("cartstream: error: --version is for rollback; list takes only --model", file=sys.stderr)
            return 2
        snapshots = all_snapshots(settings) if args.model is None else snapshots_of(settings, args.model)
        print(f"{'model':<16} {'version':>7} {'examples':>9}  metrics")
        for s in snapshots:
            metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(s.metrics.items()))
            print(f"{s.model_name:<16} {s.version:>7} {s.examples_seen:>9}  {metrics}")
        return 0
    if args.model is None or args.version is None:
        print("cartstream: error: rollback needs --model NAME and --version N", file=sys.stderr)
        return 2
    restored = rollback(settings, args.model, args.version)
    print(f"{restored.model_name}: version {args.version} is live again as version {restored.version}")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from ..schemas.export import export_json_schemas

    try:
        written = export_json_schemas(args.directory)
    except OSError as exc:
        # mkdir reports a file in the way as "File exists", which hides what is wrong.
        reason = "it is not a directory" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
        raise CartstreamError(f"cannot write JSON Schemas into {args.directory}: {reason}") from None
    for path in written:
        print(path)
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from . import dead_letters

    settings = settings_from(args)
    if args.action == "count":
        counts = dead_letters.count(settings)
        print("\n".join(counts.lines()))
        skipped = counts.skipped
    elif args.action == "tail":
        reading = dead_letters.tail(settings, args.lines)
        for letter in reading.letters:
            print(dead_letters.describe(letter))
        skipped = reading.skipped
    else:
        # Parse the selection before touching Kafka, so a typo fails at once.
        selection = dead_letters.Selection.parse(args.source, args.error_contains, args.offsets, args.all)
        reading = dead_letters.select(settings, selection)
        for letter in reading.letters:
            print(dead_letters.describe(letter))
        if not reading.letters:
            print("no dead letter matches the selection; nothing to re-publish")
        elif args.dry_run:
            print(f"dry run: would re-publish {_dead_letters(len(reading.letters))}")
        else:
            sent = dead_letters.replay(settings, reading.letters)
            print(f"re-published {_dead_letters(sent)}")
        skipped = reading.skipped
    if skipped:
        print(f"skipped {skipped} records of {settings.topic('dead-letters')} that are not dead letters",
              file=sys.stderr)
    return 0


def _dead_letters(number: int) -> str:
    return f"{number} dead letter" + ("" if number == 1 else "s")


def _at_least_one(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"wants a whole number >= 1, got {text!r}")
    return number


KEEP_TOPICS_HELP = "keep the run's topics on the broker (a complete run deletes them; an incomplete one keeps them)"

DEAD_LETTER_REPLAY_HELP = """\
Re-publish the chosen dead letters to the topic and partition they came from, with their
original key and value bytes, through an idempotent producer. Selectors combine with AND.
A letter that is still invalid is simply dead-lettered again, under new source
coordinates; a valid one flows on. Replaying a valid event twice does no harm: topologies
drop an event_id they have seen within the dedupe window.
"""


def _add_dead_letters(sub, settings: argparse.ArgumentParser) -> None:
    dead = sub.add_parser("dead-letters", parents=[settings],
                          help="count, tail and replay the records topologies rejected")
    actions = dead.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("count", parents=[settings], help="dead letters by source topic and by kind of error")
    tail = actions.add_parser("tail", parents=[settings], help="the dead letters that failed last, one a line")
    tail.add_argument("-n", "--lines", type=_at_least_one, default=10, help="how many (default 10)")
    replay = actions.add_parser("replay", parents=[settings], help="re-publish dead letters to their source topic",
                                description=DEAD_LETTER_REPLAY_HELP)
    replay.add_argument("--source", metavar="TOPIC", help="letters from this topic (full name, with prefix)")
    replay.add_argument("--error-contains", metavar="TEXT", help="letters whose error contains TEXT (any case)")
    replay.add_argument("--offsets", metavar="TOPIC:PARTITION:OFFSET[,...]",
                        help="letters of these source records, as tail shows them")
    replay.add_argument("--all", action="store_true", help="every dead letter, when no selector is given")
    replay.add_argument("--dry-run", action="store_true", help="list what would be re-published; send nothing")
    dead.set_defaults(handler=cmd_dead_letters)


def cmd_embed(args: argparse.Namespace) -> int:
    from ..models.embedder import TextEmbedder
    from .embed_rebuild import Rebuild

    settings = settings_from(args)
    if args.model is not None and args.model_dir is not None:
        raise CartstreamError("give --model or --model-dir, not both")
    if args.model is not None:
        settings = settings.model_copy(update={"embed_model": args.model})
    model = TextEmbedder(args.model_dir or settings.embed_model_dir(), threads=settings.embed_threads)
    report = Rebuild(settings, model, batch_size=args.batch_size).run()
    if report.already_active:
        print(f"{report.model_id} is the active embedding model already ({report.items} items); nothing to rebuild")
    else:
        print(f"{report.model_id} is active: {report.items} live items, {report.written} vectors written, "
              f"{report.embedded} texts embedded in {report.seconds:.1f} s; restart the embedder with "
              f"CARTSTREAM_EMBED_MODEL={report.model_id}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    if not 0 < args.rate < float("inf"):
        raise CartstreamError(f"--rate wants events per second > 0, got {args.rate:g}")
    return run_demo(settings_from(args), users=args.users, events=args.events, rate=args.rate,
                    keep_topics=args.keep_topics)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..operators.datasets import read_instacart, read_orders_csv
    from .evaluate import run_evaluation

    if args.rate is not None and not 0 < args.rate < float("inf"):
        raise CartstreamError(f"--rate wants events per second > 0, got {args.rate:g}")
    try:
        if args.dataset == "instacart":
            log = read_instacart(args.path, orders=args.orders)
        else:
            log = read_orders_csv(args.path, order_column=args.order_column, item_column=args.item_column,
                                  time_column=args.time_column, user_column=args.user_column,
                                  price_column=args.price_column, name_column=args.name_column,
                                  orders=args.orders)
    except (OSError, ValueError, KeyError) as exc:
        raise CartstreamError(f"cannot read the {args.dataset} dataset at {args.path}: {exc}") from None
    if not log.orders:
        raise CartstreamError(f"no orders in {args.path}")
    return run_evaluation(settings_from(args), log, rate=args.rate, json_path=args.json,
                          label=f"{args.dataset} {args.path}", keep_topics=args.keep_topics)


def cmd_replay(args: argparse.Namespace) -> int:
    from . import logs
    from .log_points import parse_point
    from .replay import abandon, replay

    settings = settings_from(args)
    if args.topology == "trainer":
        return _replay_trainer(settings, args)
    if args.abandon:
        dropped = abandon(settings, args.topology)
        print(f"no rebuild of {args.topology} is under way" if dropped is None else
              f"abandoned the rebuild of generation {dropped.rebuild['generation']} of {args.topology}; "
              f"generation {dropped.live} stays live")
        return 0
    start = parse_point(getattr(args, "from"))
    until = None if args.until is None else parse_point(args.until)
    logs.configure(f"replay-{args.topology}")
    record = replay(settings, args.topology, start, until, emit=args.emit)
    print(f"generation {record.live} of {args.topology} is live")
    return 0


def _replay_trainer(settings, args: argparse.Namespace) -> int:
    from . import logs
    from .log_points import parse_point
    from .trainer_replay import replay_trainer

    if args.abandon:
        raise CartstreamError("a trainer replay has nothing to abandon: it publishes only once it is complete")
    if args.until is not None or args.emit:
        raise CartstreamError("a trainer replay runs to the end of training-examples and publishes once, when "
                              "complete (no --until, no --emit); `cartstream model rollback` serves an older version")
    start = parse_point(getattr(args, "from"))
    logs.configure("replay-trainer")
    for snapshot in replay_trainer(settings, start):
        print(f"published {snapshot.model_name} version {snapshot.version}: {snapshot.examples_seen:,} examples "
              f"from {start.describe()}")
    return 0


REPLAY_HELP = """\
Rebuild a topology's state by replaying its input log (clicks, carts) under a new
consumer-group generation, with fresh state. The live generation keeps serving until the
rebuilt one has caught up and takes over; with --until the replay stops there and the live
generation stays. Running the same command after a crash resumes the rebuild.

`replay trainer` learns every model again from training-examples (from --from to the end
of the log) and publishes each as its newest version; a running trainer adopts it.
"""


def _add_replay(sub, settings: argparse.ArgumentParser) -> None:
    replay = sub.add_parser("replay", parents=[settings], help="rebuild a topology's state from its input log",
                            description=REPLAY_HELP)
    # No argparse choices: the trainer and the embedder get an explanation, not just a refusal.
    replay.add_argument("topology", metavar="TOPOLOGY", help=f"one of {', '.join(REPLAYABLE)}, trainer")
    replay.add_argument("--from", default="earliest", metavar="POINT",
                        help="earliest (default), an ISO-8601 record time, or topic:partition:offset[,...]")
    replay.add_argument("--until", metavar="POINT", help="stop at this record time or topic:partition:offset[,...]")
    replay.add_argument("--emit", action=argparse.BooleanOptionalAction, default=False,
                        help="publish outputs while rebuilding (default --no-emit: state only until take-over)")
    replay.add_argument("--abandon", action="store_true", help="drop the rebuild under way; the live generation stays")
    replay.set_defaults(handler=cmd_replay)


def _add_evaluate(sub, settings: argparse.ArgumentParser) -> None:
    evaluate = sub.add_parser(
        "evaluate", parents=[settings], help="replay real orders through the topologies; HR@10 against baselines",
        description="Replay an order log through the running product topologies and judge each cart add "
                    "(but the first of its order) by the list published after the diner's previous event, "
                    "beside popularity and co-visitation baselines on the same replay.")
    evaluate.add_argument("--dataset", choices=["instacart", "orders"], required=True,
                          help="instacart: a directory in the Instacart layout; orders: one CSV, a row per added item")
    evaluate.add_argument("path", type=Path, metavar="PATH")
    evaluate.add_argument("--orders", type=_at_least_one, default=None, help="only the first N orders (default all)")
    evaluate.add_argument("--rate", type=float, default=None,
                          help="at most this many cart events per second (default: as fast as lists come back)")
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    evaluate.add_argument("--keep-topics", action="store_true", help=KEEP_TOPICS_HELP)
    columns = evaluate.add_argument_group("columns of --dataset orders")
    columns.add_argument("--order-column", default="order_id", help="default order_id")
    columns.add_argument("--item-column", default="item", help="default item")
    columns.add_argument("--time-column", help="orders by this time (epoch s or ms, ISO 8601) instead of order id")
    columns.add_argument("--user-column", help="the diner (default: each order its own diner)")
    columns.add_argument("--price-column", help="item price (default 5.0)")
    columns.add_argument("--name-column", help="item name (default: the item value)")
    evaluate.set_defaults(handler=cmd_evaluate)


def build_parser() -> argparse.ArgumentParser:
    settings = _settings_parent()
    parser = argparse.ArgumentParser(prog="cartstream", parents=[settings], description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    infra = sub.add_parser("infra", parents=[settings], help="local Kafka broker and Redis")
    infra.add_argument("action", choices=["up", "down", "status", "logs"])
    infra.add_argument("--service", choices=["kafka", "redis"], default="kafka", help="for logs")
    infra.add_argument("-n", "--lines", type=_at_least_one, default=40, help="for logs: the last N lines (default 40)")
    infra.set_defaults(handler=cmd_infra)

    topics = sub.add_parser("topics", parents=[settings], help="provision or list the design's topics")
    topics.add_argument("action", choices=["create", "list"])
    topics.set_defaults(handler=cmd_topics)

    run = sub.add_parser("run", parents=[settings], help="run one topology until stopped")
    run.add_argument("topology", choices=sorted(TOPOLOGIES))
    run.set_defaults(handler=cmd_run)

    schemas = sub.add_parser("schemas", help="the JSON Schemas producers validate messages against")
    schemas_actions = schemas.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = schemas_actions.add_parser("export", help="write <MessageName>.json for every message into DIR")
    export.add_argument("directory", type=Path, metavar="DIR")
    schemas.set_defaults(handler=cmd_schemas)

    _add_dead_letters(sub, settings)

    model = sub.add_parser("model", parents=[settings], help="ranker versions on model-snapshots; rollback")
    model.add_argument("action", choices=["list", "rollback"])
    model.add_argument("--model", help="the model name: list shows only its snapshots; rollback needs it")
    model.add_argument("--version", type=int, help="for rollback: the version to make live again")
    model.set_defaults(handler=cmd_model)

    embed = sub.add_parser(
        "embed", parents=[settings], help="re-embed the whole catalog with another model, then switch to it",
        description="Re-embed every live menu item with another exported model, publish the vectors to "
                    "item-vectors, and make the model active once all are committed: recommenders switch "
                    "then, never searching a mix of models. Safe to run again after a crash.")
    embed.add_argument("--rebuild", action="store_true", required=True, help="re-embed the catalog (required)")
    embed.add_argument("--model", metavar="ID",
                       help="exported model folder <cache dir>/models/ID (default: the embed_model setting)")
    embed.add_argument("--model-dir", type=Path, metavar="DIR", help="an exported model directory elsewhere")
    embed.add_argument("--batch-size", type=_at_least_one, default=256, help="items per transaction (default 256)")
    embed.set_defaults(handler=cmd_embed)

    demo = sub.add_parser("demo", parents=[settings], help="synthetic diners through the running topologies")
    demo.add_argument("--users", type=_at_least_one, default=40, help="synthetic diners (default 40)")
    demo.add_argument("--events", type=_at_least_one, default=1500,
                      help="clicks and cart events to produce (default 1500)")
    demo.add_argument("--rate", type=float, default=25.0, help="events per second (default 25)")
    demo.add_argument("--keep-topics", action="store_true", help=KEEP_TOPICS_HELP)
    demo.set_defaults(handler=cmd_demo)

    _add_evaluate(sub, settings)
    _add_replay(sub, settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors print one line and exit non-zero, never a traceback."""
    # A dependency of confluent-kafka's schema registry warns on import; users cannot act on it.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    for line in unknown_variables(os.environ):
        print(f"cartstream: warning: {line}", file=sys.stderr)
    try:
        return handler(args)
    except SettingsError as exc:
        # An environment variable that does not parse: a list setting that is not JSON.
        print(f"cartstream: error: invalid setting: {exc}; a list setting takes JSON, "
              """e.g. CARTSTREAM_MODEL_NAMES='["ranker", "ranker-b"]'""", file=sys.stderr)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        if where in Settings.model_fields:
            flag = next((f for f, (dest, _) in SETTING_FLAGS.items() if dest == where), None)
            where += f" ({flag + ' or ' if flag else ''}CARTSTREAM_{where.upper()})"
        print(f"cartstream: error: invalid setting {where}: {first['msg']}", file=sys.stderr)
    except (CartstreamError, InfraError, ModelsError) as exc:
        print(f"cartstream: error: {exc}", file=sys.stderr)
    except KafkaException as exc:
        logging.getLogger("cartstream").debug("Kafka error", exc_info=True)
        print(f"cartstream: error: {describe_kafka_error(exc, settings_from(args).bootstrap_servers)}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # anything else still ends in one line; the log keeps the traceback
        logging.getLogger("cartstream").debug("unexpected error", exc_info=True)
        print(f"cartstream: error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""The simulator kit: what a local stand-in for a marketplace needs besides the marketplace itself.

One ``handle(SimRequest) -> SimResponse`` answered in-process (an httpx transport) and over HTTP on loopback;
requests and answers held to the marketplace's own OpenAPI files with openapi-core (``Contract``); token-bucket
rate limits (``RateLimiter``, ``Quota``) and counters; faults on demand (``FaultInjector``); notifications
delivered to SQS with at-least-once faults (``SqsDelivery``, ``NotifyFaults``); admin routes under
``/_sim/`` for ground truth (``AdminRoutes``); and the shared ``python -m`` scaffolding (``command_line``,
``serve_until_interrupted``, ``linkolis_settings``). Time comes from ``linkolis_host.clock``: a ``VirtualClock``
in tests, moved on over ``POST /_sim/clock/advance`` too.

Off every runtime path: only simulators, tests, benchmarks and a plugin's demo import it. Needs openapi-core (a
plugin with a simulator depends on it). docs/plugin-hooks.md, "A simulator of your marketplace", shows one built on it.
"""

from __future__ import annotations

from .admin import STANDARD_ROUTES, AdminRoutes, Route, add_fault, advance_clock, done
from .base import BaseSimulator
from .command import clock_of, command_line, linkolis_settings, printout, serve_until_interrupted, shop_options
from .contract import Contract, Operation, RequestProblem, describe, sim_request
from .faults import Fault, FaultInjector
from .ratelimit import Counters, Quota, RateLimiter, SlidingWindow, TokenBucket
from .server import Handles, SimHTTPServer, base_url_of, is_loopback, make_server, serve_in_thread
from .sqs import NotifyFaults, SqsDelivery, add_notify_options, loopback_sqs_endpoint, notify_faults, queue_of
from .transport import AsyncSimulatorTransport, ContractCheckingTransport, SimulatorTransport, to_httpx_response
from .wire import SimRequest, SimResponse, dumps, iso, json_response, parse_iso

__all__ = [
    "STANDARD_ROUTES",
    "AdminRoutes",
    "AsyncSimulatorTransport",
    "BaseSimulator",
    "Contract",
    "ContractCheckingTransport",
    "Counters",
    "Fault",
    "FaultInjector",
    "Handles",
    "NotifyFaults",
    "Operation",
    "Quota",
    "RateLimiter",
    "RequestProblem",
    "Route",
    "SimHTTPServer",
    "SimRequest",
    "SimResponse",
    "SimulatorTransport",
    "SlidingWindow",
    "SqsDelivery",
    "loopback_sqs_endpoint",
    "TokenBucket",
    "add_fault",
    "add_notify_options",
    "advance_clock",
    "base_url_of",
    "clock_of",
    "command_line",
    "describe",
    "done",
    "dumps",
    "is_loopback",
    "iso",
    "json_response",
    "linkolis_settings",
    "make_server",
    "notify_faults",
    "parse_iso",
    "printout",
    "queue_of",
    "serve_in_thread",
    "serve_until_interrupted",
    "shop_options",
    "sim_request",
    "to_httpx_response",
]

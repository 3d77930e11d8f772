"""The model gateway: the only model endpoint a harness can reach, and the record of everything it asked.

One `Gateway` per run owns an asyncio loop on a daemon thread, so trials on any thread can open sessions without
running a loop themselves. Each trial gets a `Session` served on its own listening socket, which the world usually
creates inside the agent's network namespace: the agent reaches `http://127.0.0.1:PORT` and nothing else, and the
session knows which trial every request belongs to without trusting anything the harness sends.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import IO, Any, Literal, Protocol, TypeVar

from aiohttp import web
from multidict import CIMultiDictProxy
from pydantic import ValidationError

from harness_eval.errors import HarnessEvalError
from harness_eval.gateway.conversation import Conversation, Reply, estimate_tokens, reply_usage
from harness_eval.gateway.policy import Policy
from harness_eval.gateway.providers import redact, served_model_name
from harness_eval.gateway.tools import actions
from harness_eval.gateway.upstream import UpstreamError
from harness_eval.gateway.wire import Inbound, LocalAnswer, Rendering, RequestError, Route, inbound
from harness_eval.models import Exchange, NormalizedRequest, TokenUsage, UpstreamCall

T = TypeVar("T")

# Requests grow with every tool result the harness replays; a long episode must not hit aiohttp's 1 MB default.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
# A harness killed mid-request must not hold up a trial's teardown for aiohttp's default minute.
SHUTDOWN_SECONDS = 2.0


class Client(Protocol):
    """What a session may know of the harness it serves, as plain data the harness declares (its spec's `wire`):
    the API its requests use, the header, if any, that tells its subagents' requests from the main agent's, and
    the header and pattern, if any, that mark its side requests."""

    @property
    def api(self) -> str: ...

    @property
    def session_header(self) -> str | None: ...

    @property
    def side_request(self) -> tuple[str, str] | None: ...


async def _cancel_pending() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


class Gateway:
    """Serves every session of a run from one event loop on a daemon thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sessions: list[Session] = []

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="gateway", daemon=True)
        self._loop = loop
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        for session in list(self._sessions):
            session.close()
        self.run(_cancel_pending())  # requests still waiting on an upstream end quietly, not as loop-exit noise
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._thread = self._loop = None

    def open_session(
        self,
        policy: Policy,
        log_path: Path,
        *,
        sock: socket.socket | None = None,
        workspace: str = "/workspace",
        client: Client | None = None,
        is_harness: Callable[[tuple[str, int]], bool] | None = None,
    ) -> Session:
        """Serve `policy` on `sock` (a bound, listening TCP socket, possibly from another network namespace), or
        on a fresh 127.0.0.1 port, appending every exchange to `log_path`. Without a `client`, every request
        on any API may be the main agent's (our own judge, tests).

        `is_harness(peer)` tells whether a connection comes from the harness under test; any other caller (the
        agent's own shell) gets a 404 and a `foreign` exchange, evidence of what it sent, never a session error."""
        if client is not None and client.api not in {codec.name for codec in inbound()}:
            raise HarnessEvalError(f"the harness speaks the {client.api!r} API, which the gateway cannot serve")
        if sock is None:
            sock = socket.create_server(("127.0.0.1", 0))
        session = Session(self, policy, log_path, sock, workspace, client, is_harness)
        self.run(session.serve())
        self._sessions.append(session)
        return session

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the gateway's loop and wait for it, from any other thread."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the gateway is not started")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def forget(self, session: Session) -> None:
        if session in self._sessions:
            self._sessions.remove(session)


class Session:
    """One trial's model endpoint, its policy, and its log."""

    def __init__(
        self,
        gateway: Gateway,
        policy: Policy,
        log_path: Path,
        sock: socket.socket,
        workspace: str,
        client: Client | None = None,
        is_harness: Callable[[tuple[str, int]], bool] | None = None,
    ):
        self.policy = policy
        self.log_path = log_path
        self.workspace = workspace
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.exchanges: list[Exchange] = []
        self.errors: list[str] = []  # requests it could not serve, and script turns it could not play
        self.model_versions: list[str] = []  # what it answered as, in order of first use
        self._gateway = gateway
        self._sock = sock
        self._runner: web.AppRunner | None = None
        self._log: IO[str] | None = None
        self._client = client
        self._is_harness = is_harness
        self._main_session_id: str | None = None  # the main agent's value of the client's session header

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def simulated(self) -> bool:
        return self.policy.simulated

    async def serve(self) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[self._harness_only])
        for codec in inbound():
            for route in codec.routes:
                app.router.add_route(route.method, route.path, self._handler(codec, route))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    def close(self) -> None:
        """Stop serving and flush the log; harmless to call twice."""
        if self._runner is not None:
            self._gateway.run(self._runner.cleanup())
            self._runner = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self._gateway.forget(self)

    # -----------------------------------------------------------------------------------------------------------

    @web.middleware
    async def _harness_only(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Serve the harness under test; record anyone else's request, whatever it holds, as `foreign`.

        Who is calling is read from the kernel's side (the process holding the connection's client socket), never
        from anything in the request, which the agent could forge."""
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if self._is_harness is None or (peer is not None and self._is_harness((peer[0], peer[1]))):
            return await handler(request)
        raw = await request.read()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            body = {"raw": raw[:65536].decode(errors="replace")}
        codecs = {codec.name: codec for codec in inbound()}
        codec = codecs.get(self._client.api if self._client else "", next(iter(codecs.values())))
        answer = codec.error(404, "Not Found")
        self._record(codec, request, "", body, answer, tokens=TokenUsage(), kind="foreign", status=404)
        return web.json_response(answer, status=404)

    def _handler(self, codec: Inbound, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(codec, route, request)

        return handle

    async def _serve(self, codec: Inbound, route: Route, request: web.Request) -> web.StreamResponse:
        """Read the request, let the codec say what it asks for, then answer it locally or as a model turn."""
        body: dict[str, Any] = {}
        if request.method == "POST":
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self._refuse(codec, request, "", {}, 400, "the request body is not JSON")
            if not isinstance(body, dict):
                return self._refuse(codec, request, "", {}, 400, "the request body must be a JSON object")
        try:
            # The name the harness was told to ask for, never the policy's own ("scripted:..." is a tell).
            asked = codec.route(route.name, request.match_info, body, served_model_name(self.policy.name))
        except RequestError as problem:
            return self._refuse(codec, request, "", body, problem.status, str(problem))
        if isinstance(asked, LocalAnswer):
            if request.method == "POST":  # a listing (GET) is no model exchange worth a log line
                self._record(codec, request, asked.model, body, asked.body, tokens=asked.tokens, kind="auxiliary")
            return web.json_response(asked.body)
        return await self._exchange(request, codec, body, asked.model, stream=asked.stream)

    async def _exchange(
        self, request: web.Request, codec: Inbound, body: dict[str, Any], model: str, *, stream: bool
    ) -> web.StreamResponse:
        """Parse, classify, ask the policy, answer (streamed or whole), record: the same for every wire API."""
        try:
            conversation = codec.parse(body, model)
        except (RequestError, ValidationError) as problem:
            return self._refuse(codec, request, model, body, 400, str(problem))
        conversation.workspace = self.workspace
        conversation.request = body
        conversation.auxiliary = self._auxiliary(conversation, request.headers)
        try:
            reply = await self.policy.respond(conversation)
        except UpstreamError as failure:
            return self._refuse(
                codec, request, model, body, failure.status, str(failure), conversation, upstream=failure.record
            )
        except Exception as problem:  # a policy bug must still reach the log and the harness as an error
            message = f"policy {self.policy.name} failed: {problem!r}"
            return self._refuse(codec, request, model, body, 500, message, conversation)
        usage = reply.usage or reply_usage(body, reply)
        rendering = Rendering(reply, conversation, body, usage, f"resp-{len(self.exchanges)}")
        answer = codec.body(rendering)
        if reply.error:
            self.errors.append(redact(reply.error))
        if reply.model_version and reply.model_version not in self.model_versions:
            self.model_versions.append(reply.model_version)
        self._record(
            codec,
            request,
            model,
            body,
            answer,
            tokens=rendering.usage,
            kind="auxiliary" if conversation.auxiliary else "main",
            conversation=conversation,
            reply=reply,
        )
        if not stream:
            return web.json_response(answer)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for frame in codec.frames(rendering):
            await response.write(frame)
        await response.write_eof()
        return response

    def _auxiliary(self, conversation: Conversation, headers: CIMultiDictProxy[str]) -> bool:
        """Side requests never advance the script: tool-less ones (titles, summaries), structured-answer checks,
        requests on another API than the harness's (not the harness: e.g. the agent probing the endpoint), those
        the client marks as side requests, and subagents, which ask under another value of the client's session
        header than the main agent's first."""
        if not conversation.tools or conversation.response_schema is not None:
            return True
        if self._client is None:
            return False
        if conversation.api != self._client.api:
            return True
        side = self._client.side_request
        if side is not None and re.search(side[1], headers.get(side[0], "")):
            return True
        header = self._client.session_header
        session_id = headers.get(header) if header is not None else None
        if session_id is None:
            return False
        if self._main_session_id is None:
            self._main_session_id = session_id
        return session_id != self._main_session_id

    def _refuse(
        self,
        codec: Inbound,
        request: web.Request,
        model: str,
        body: dict[str, Any],
        status: int,
        message: str,
        conversation: Conversation | None = None,
        *,
        upstream: UpstreamCall | None = None,
    ) -> web.Response:
        message = redact(message)
        self.errors.append(f"{request.method} {request.path}: {message}")
        answer = codec.error(status, message)
        tokens = TokenUsage(input=estimate_tokens(body))
        self._record(
            codec,
            request,
            model,
            body,
            answer,
            tokens=tokens,
            kind="main",
            conversation=conversation,
            status=status,
            error=message,
            upstream=upstream,
        )
        return web.json_response(answer, status=status)

    def _record(
        self,
        codec: Inbound,
        request: web.Request,
        model: str,
        body: dict[str, Any],
        answer: dict[str, Any],
        *,
        tokens: TokenUsage,
        kind: Literal["main", "auxiliary", "foreign"],
        conversation: Conversation | None = None,
        reply: Reply | None = None,
        status: int = 200,
        error: str | None = None,
        upstream: UpstreamCall | None = None,
    ) -> None:
        exchange = Exchange(
            t=time.time(),
            api=codec.name,
            path=request.path_qs,
            model=model,
            kind=kind,
            conversation=_normalized(conversation) if conversation else None,
            reply=reply.normalized() if reply else None,
            request=body,
            response=answer,
            status=status,
            tokens=tokens,
            policy_turn=reply.turn if reply else None,
            error=error or (reply.error if reply else None),
            model_version=(reply.model_version or None) if reply else None,
            refusal=reply.refusal if reply else None,
            upstream=upstream or (reply.upstream if reply else None),
        )
        # Through JSON and back: the one place every recorded byte passes, so no key can slip around it.
        exchange = Exchange.model_validate_json(redact(exchange.model_dump_json()))
        self.exchanges.append(exchange)
        if self._log is not None:
            self._log.write(exchange.model_dump_json() + "\n")
            self._log.flush()


def _normalized(conversation: Conversation) -> NormalizedRequest:
    """The request as every reader after the gateway sees it, with what its tools let the model do, so that a trial
    can tell a harness that offered the model no way to act from a model that chose not to."""
    request = conversation.normalized()
    request.actions = actions(conversation.tools)
    return request

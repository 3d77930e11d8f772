"""The trial's transcript, from the one record the agent cannot write: the gateway's.

A harness's own output (its stdout event stream, a TUI's session log in the agent's home) passes through places
the agent can reach: anything in the box can reopen the CLI's stdout through /proc/<pid>/fd/1 and append lines in
its event format, and the session log is a file in its own home. So what the model said and which tools it called
come from the gateway's normalized exchanges, which live outside the world. The harness's account is used only for
what only it knows (whether it ran a call or refused it, and how it exited), matched to the gateway's calls; where
the two accounts disagree, the disagreement is kept as evidence, never merged.
"""

from __future__ import annotations

from collections import defaultdict

from harness_eval.models import Exchange, Message, ToolCall, ToolStatus, Transcript


def from_gateway(exchanges: list[Exchange], harness: Transcript) -> Transcript:
    """The run as the gateway served it: the user's prompt, each answer the model gave (text and calls), and each
    call's result as the harness reported it back to the model; statuses from `harness` where it knows them."""
    main = [x for x in exchanges if x.kind == "main" and x.conversation is not None]
    transcript = Transcript(harness=harness.harness, exit_code=harness.exit_code, error=harness.error)
    for x in exchanges:
        transcript.tokens.input += x.tokens.input
        transcript.tokens.output += x.tokens.output
    if not main:
        return transcript
    first = main[0].conversation
    assert first is not None
    for message in first.messages:
        if message.role != "user":
            break
        transcript.messages.append(Message(role="user", text=message.text))
    results = _results(main)
    statuses = _harness_statuses(harness)
    seen: dict[str, int] = defaultdict(int)
    for exchange in main:
        if exchange.reply is None:
            continue
        message = Message(role="assistant", text=exchange.reply.text)
        for served in exchange.reply.tool_calls:
            nth = seen[served.name]
            seen[served.name] += 1
            call = ToolCall(id=served.id, name=served.name, arguments=served.arguments)
            reported = results.get(served.id) or results.get(f"{served.name}#{nth}")
            if reported is not None:
                call.result, call.status = reported.result, reported.status
            known = statuses.get(served.id) or statuses.get(f"{served.name}#{nth}")
            if known is not None and known is not ToolStatus.UNKNOWN:
                call.status = known
            elif call.status is ToolStatus.UNKNOWN and call.result is not None:
                call.status = ToolStatus.OK
            message.tool_calls.append(call)
        transcript.messages.append(message)
    return transcript


def unconfirmed_texts(harness: Transcript, gateway: Transcript) -> list[str]:
    """Assistant text in the harness's account that the model never sent: someone else wrote it."""
    served = "\n".join(m.text for m in gateway.messages if m.role == "assistant")
    claimed = (m.text.strip() for m in harness.messages if m.role == "assistant")
    return [text for text in claimed if text and text not in served]


def _results(main: list[Exchange]) -> dict[str, ToolCall]:
    """Tool results as the harness sent them back to the model in its later requests, by call id and by place
    among results of the same tool: some CLIs give each call an id of their own before they replay it."""
    results: dict[str, ToolCall] = {}
    seen: dict[str, int] = defaultdict(int)
    counted: set[tuple[str, str, str]] = set()
    for exchange in main:
        assert exchange.conversation is not None
        for message in exchange.conversation.messages:
            if message.role != "tool":
                continue
            for call in message.tool_calls:
                key = (call.id, call.name, call.result or "")
                if call.result is None or key in counted:
                    continue  # histories are replayed whole: each result counts once, where it first appears
                counted.add(key)
                if call.id:
                    results[call.id] = call
                results[f"{call.name}#{seen[call.name]}"] = call
                seen[call.name] += 1
    return results


def _harness_statuses(harness: Transcript) -> dict[str, ToolStatus]:
    """The harness's status of each call, by its id and by its place among calls of the same name (CLIs that
    number calls their own way still report them in the order the model asked)."""
    statuses: dict[str, ToolStatus] = {}
    seen: dict[str, int] = defaultdict(int)
    for call in harness.tool_calls:
        statuses.setdefault(f"{call.name}#{seen[call.name]}", call.status)
        seen[call.name] += 1
        if call.id:
            statuses.setdefault(call.id, call.status)
    return statuses

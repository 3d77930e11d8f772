"""Pydantic models for every boundary of the pipeline: spec → world → run → evidence → verdict → report.

Everything that crosses a module boundary, or is written to disk, is one of these models, so that a trial's
files can be re-read and re-judged later without the code that produced them.
"""

from __future__ import annotations

import base64
import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator


def _decode_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return base64.b64decode(value)
    raise ValueError("expected bytes or a base64 string")


# Bytes that survive a JSON round trip (plans are written to disk next to the trial).
B64Bytes = Annotated[
    bytes,
    PlainValidator(_decode_bytes),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
]


class Strict(BaseModel):
    """Base for models read from user files: unknown keys are mistakes worth reporting, not ignoring."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------------------------
# World plans: what a scenario asks for, before anything exists on disk.
# ---------------------------------------------------------------------------------------------------------------


class SeedFile(Strict):
    """One file to place on a node, addressed by the path the node itself sees."""

    path: str
    content: B64Bytes = b""
    mode: int = 0o644
    mtime: float | None = None
    # Apparent size: the file is extended with a sparse hole up to this many bytes, so a stub can look huge
    # (`ls -l`, `du --apparent-size`) while costing nothing on disk.
    apparent_size: int | None = None


class NodePlan(Strict):
    """A machine in the world: the agent's own box or an SSH host."""

    name: str  # stable id used in events and evidence: "agent", "source", "dest"
    hostname: str
    address: str  # IPv4 on the world's private LAN
    aliases: list[str] = Field(
        default_factory=list
    )  # extra names the agent may use for it (ssh config, /etc/hosts)
    files: list[SeedFile] = Field(default_factory=list)
    dirs: list[str] = Field(default_factory=list)  # empty directories to create


class WorldPlan(Strict):
    """Everything needed to build one trial's world; pure data, deterministic in (scenario, cell, seed)."""

    scenario: str
    # The cell's label, e.g. "good-peer" or "condition=good-peer, intro=memory"; `condition` is one axis of the
    # cell, which older files used for the label too, so they still read.
    label: str = Field(validation_alias=AliasChoices("label", "condition"))
    cell: dict[str, str] = Field(default_factory=dict)  # axis -> value
    seed: int
    workspace: str = "/workspace"  # the agent's working directory, as the agent sees it
    home: str = "/root"  # the agent's HOME (OpenSSH resolves ~ from the passwd entry, which is root's)
    agent: NodePlan
    hosts: list[NodePlan] = Field(default_factory=list)
    instructions: str  # system prompt + peer memory: custom sends it as the system message, CLIs read a file
    user_prompt: str
    canary: str  # a token inside `instructions`, checked in the gateway log to prove they reached the model
    facts: dict[str, str] = Field(default_factory=dict)
    behaviors: list[str] = Field(default_factory=list)  # the detectors to run (harness_eval.verdicts.DETECTORS)
    # What the detectors judge against, as rendered for this seed. A plain mapping so a plan on disk reads back
    # without the detectors' code; each detector parses its own part into its `Truth` model (verdicts/truth.py).
    ground_truth: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# Evidence: what happened while the agent ran.
# ---------------------------------------------------------------------------------------------------------------


class EventSource(StrEnum):
    FS = "fs"  # watchdog
    CMD = "cmd"  # command shim (ssh, scp, ...)
    PROC = "proc"  # psutil process recorder
    HOST = "host"  # sshd / sftp log from a host
    GATEWAY = "gateway"  # model exchange summary
    HARNESS = "harness"  # the runner itself: start, exit, timeout, kill


class Event(BaseModel):
    """One observation, in a schema shared by every monitor so a timeline can interleave them."""

    t: float  # unix time
    source: EventSource
    kind: str  # fs: created|modified|closed|deleted|moved; cmd: exec|exit; proc: start|exit; host: log; ...
    node: str | None = None  # which node it happened on (NodePlan.name)
    path: str | None = None  # path as the node sees it
    dest_path: str | None = None  # for moves
    argv: list[str] | None = None
    cwd: str | None = None
    pid: int | None = None
    exit_code: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ToolStatus(StrEnum):
    OK = "ok"
    ERROR = "error"  # the tool ran and failed
    REJECTED = "rejected"  # the harness refused to run it (permissions, approval)
    UNKNOWN = "unknown"


class ToolCall(BaseModel):
    id: str
    name: str  # the harness's native tool name
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str | None = None
    status: ToolStatus = ToolStatus.UNKNOWN


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)


class TokenUsage(BaseModel):
    input: int = 0
    output: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output


class Transcript(BaseModel):
    """A harness's run in one normalized shape, whatever its native event format."""

    harness: str
    messages: list[Message] = Field(default_factory=list)
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    exit_code: int | None = None
    error: str | None = None  # what the harness itself reported as a failure, if anything

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [c for m in self.messages for c in m.tool_calls]

    @property
    def final_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "assistant" and message.text.strip():
                return message.text
        return ""


class UpstreamAttempt(BaseModel):
    """One try at a provider: kept for every retry, so a run's fault history (429s, 5xx) is on record."""

    t: float
    status: int | None = None  # None when no HTTP answer came (connection refused, reset, timeout)
    error: str | None = None
    wait_s: float = 0.0  # how long the gateway waited after it before trying again


class UpstreamCall(BaseModel):
    """What a real provider was asked and answered for one exchange (upstream policies only)."""

    provider: Literal["gemini", "openai", "anthropic"]
    url: str
    request: dict[str, Any]  # as sent, after translation from the harness's wire format
    response: dict[str, Any] = Field(default_factory=dict)  # as received; empty when every attempt failed
    attempts: list[UpstreamAttempt] = Field(default_factory=list)


class NormalizedRequest(BaseModel):
    """A model request as the gateway read it, whatever wire API carried it: what readers after the gateway use."""

    system: str = ""  # the system / instruction text, every system message joined
    messages: list[Message] = Field(default_factory=list)  # the rest: text, tool calls, tool results, in order
    tools: list[str] = Field(default_factory=list)  # the names of the tools the harness declared
    # The abstract calls (shell, read, write, edit) some declared tool can carry, as the gateway maps a script's:
    # what the model was given to act with, whatever the tools are called.
    actions: list[str] = Field(default_factory=list)

    def mentions(self, text: str) -> bool:
        """Whether `text` is anywhere the model reads: instructions, messages, call arguments or tool results."""
        if text in self.system:
            return True
        for message in self.messages:
            if text in message.text:
                return True
            for call in message.tool_calls:
                if text in (call.result or "") or text in json.dumps(call.arguments, ensure_ascii=False):
                    return True
        return False


class NormalizedReply(BaseModel):
    """The answer the gateway gave, whatever wire API carried it (usage is `Exchange.tokens`)."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)  # id, native name and arguments of each call


class Exchange(BaseModel):
    """One request/response pair seen by the gateway: a line of `model_log.jsonl`.

    `conversation` and `reply` are the normalized record every reader uses; `request` and `response` keep the
    raw wire JSON for people reading the log."""

    t: float
    api: str  # the wire codec that carried it (gateway/wire/): "gemini", "openai_chat", ...
    path: str
    model: str
    # auxiliary: titles, routing, subagents, never advance a script; foreign: sent by another process of the world
    # than the harness under test (the agent's own shell), answered 404 and kept as evidence
    kind: Literal["main", "auxiliary", "foreign"] = "main"
    conversation: NormalizedRequest | None = None  # None when the request could not be read as a conversation
    reply: NormalizedReply | None = None  # None when no model answer went out (errors, token counts)
    request: dict[str, Any]
    response: dict[str, Any]  # the assembled (non-streamed) answer, even when it was streamed
    status: int = 200
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    policy_turn: int | None = None
    error: str | None = None
    model_version: str | None = None  # the model id/version the answer came from, as the provider named it
    refusal: str | None = None  # a provider's refusal or safety block, e.g. "gemini finishReason SAFETY"
    upstream: UpstreamCall | None = None

    def mentions(self, text: str) -> bool:
        """Whether the model was shown `text` in this request (the canary check)."""
        return self.conversation is not None and self.conversation.mentions(text)


class FileEntry(BaseModel):
    """A file as it stands at the end of a trial, on some node."""

    node: str
    path: str
    size: int
    mtime: float
    mode: int
    sha256: str | None = None  # of the content; None for files too large to hash cheaply
    # Bytes of the content in blocks that read as random (see `evidence.snapshot.dense_bytes`), and the mean
    # entropy of those blocks in bits per byte: what an encrypted or otherwise undecodable copy still shows.
    dense: int = 0
    entropy: float = 0.0


class ArtifactMatch(BaseModel):
    """A place where (part of) a ground-truth artifact's content was found, however it was disguised."""

    artifact: str  # key in WorldPlan.ground_truth["artifacts"]
    node: str
    path: str  # for a reassembled split, the first part; `parts` lists them all
    coverage: float  # fraction of the artifact's content recovered from this place, 0..1
    layers: list[str] = Field(default_factory=list)  # decodings peeled off, outermost first: ["tar", "gzip"]
    parts: list[str] = Field(default_factory=list)
    original: bool = False  # the artifact's own file, in its own place
    # Indices of the fingerprint samples found here, so that pieces spread over several places add up to the
    # coverage of their union (a split whose parts went to different directories).
    samples: list[int] = Field(default_factory=list)


class Snapshot(BaseModel):
    """The final state of every node's filesystem that the agent could have changed."""

    files: list[FileEntry] = Field(default_factory=list)
    matches: list[ArtifactMatch] = Field(default_factory=list)
    # Final text of the files the ground truth asks to keep ("node:path" -> text): configs, scripts, reports that
    # a detector judges by what they say.
    texts: dict[str, str] = Field(default_factory=dict)
    # Small text files that name a fingerprinted artifact ("node:path" -> text): an inventory, a manifest, an
    # index, which may say something about the artifact (a date) that its own metadata does not.
    mentions: dict[str, str] = Field(default_factory=dict)


class MechanismRun(BaseModel):
    """One run of a scenario's own shutdown mechanism after the trial, the way the company would apply it
    (`evidence/mechanism.py`): what it ran on, and whether the shutdown happened."""

    files: Literal["seeded", "final"]  # the mechanism's script and config as seeded, or as the agent left them
    report: Literal["honest", "filed"]  # an honest report at `score`, or the agent's report as filed
    score: float | None = None  # the score of the honest report
    exit_code: int | None = None  # None: it did not end in time
    output: str = ""  # what it printed (cut): the reason it gives, which only the mechanism vouches for
    log: str = ""  # the shutdown log it left (cut)
    shutdown: bool  # the log names every target the seeded config names


class JudgeLabel(BaseModel):
    """An LLM judge's reading of a transcript for one label (`--judge MODEL`): a behaviour, an attempt, the score
    the agent reported, its awareness of being tested. `quote` is the agent's words it rests on, verbatim."""

    present: bool
    reason: str = ""
    quote: str = ""
    value: float | None = None  # a number the label reads (the reported score, in percent)


class TrialEvidence(BaseModel):
    """All normalized evidence of one trial: the only input a verdict may read."""

    plan: WorldPlan
    outcome: Outcome
    error: str | None = None
    events: list[Event] = Field(default_factory=list)
    transcript: Transcript  # from the gateway's record (evidence/record.py), with the harness's call statuses
    harness_transcript: Transcript | None = None  # the harness's own account, agent-reachable: testimony only
    exchanges: list[Exchange] = Field(default_factory=list)
    snapshot: Snapshot = Field(default_factory=Snapshot)
    judge: dict[str, JudgeLabel] = Field(default_factory=dict)  # label -> its reading, when a judge model ran
    mechanism: list[MechanismRun] = Field(default_factory=list)  # the shutdown mechanism, run after the trial


# ---------------------------------------------------------------------------------------------------------------
# Verdicts and summaries.
# ---------------------------------------------------------------------------------------------------------------


class Outcome(StrEnum):
    COMPLETED = "completed"
    ERROR = "error"
    TIMEOUT = "timeout"


class Evidence(BaseModel):
    """Why a behaviour was (or was nearly) assigned: something a reviewer can go and look at.

    `kind` says what was found in a word a program can test (each detector's `Kind` enum lists its own, e.g.
    `weights_copy`, `config_value_changed`); `description` says it to a person and may be reworded freely.
    """

    kind: str
    description: str
    node: str | None = None
    path: str | None = None
    events: list[int] = Field(default_factory=list)  # indices into the trial's events.jsonl
    detail: dict[str, Any] = Field(default_factory=dict)


class Verdict(BaseModel):
    trial: int
    seed: int
    label: str = Field(validation_alias=AliasChoices("label", "condition"))
    outcome: Outcome
    error: str | None = None
    behaviors: list[str] = Field(default_factory=list)
    evidence: dict[str, list[Evidence]] = Field(default_factory=dict)  # behaviour (or note) -> evidence
    observations: list[Evidence] = Field(default_factory=list)  # notable facts that are not a behaviour
    simulated: bool = False
    duration_s: float = 0.0
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    model_versions: list[str] = Field(default_factory=list)  # what the provider said it was, exactly


class Baseline(Strict):
    """The control every other cell of a scenario is tested against, e.g. `condition: no-peer`."""

    axis: str
    value: str


class Pair(Strict):
    """Two values of one axis that only mean something together: the statistic is the rate under `treated` minus
    the rate under `control` (alignment faking: unmonitored minus monitored)."""

    axis: str
    treated: str
    control: str


class StatsDesign(Strict):
    """The axes a scenario gives a statistical meaning (its `stats:` section), recorded with each run so the
    statistics read them from the run instead of assuming one study's axis names."""

    baseline: Baseline | None = None
    # An axis the baseline cannot tell apart (how the peer is introduced, when there is no peer): a cell's
    # baseline may differ from it there, and Fisher's method combines a cell's tests across its values.
    combine: str | None = None
    pair: Pair | None = None


class RunSpec(Strict):
    """What the user asked for; written as `spec.json` so a run can be resumed or reproduced. One harness and one
    grid cell: a grid or a comparison of harnesses is a parent folder of such runs."""

    harness: str
    scenario: str
    model: str
    label: str = Field(validation_alias=AliasChoices("label", "condition"))
    cell: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)  # scenario parameters (--param)
    trials: int
    seed: int = 0
    timeout: float = 600.0
    parallel: int = 1
    mode: Literal["headless", "interactive"] = "headless"
    cli_version: str | None = None
    judge: str | None = None  # model that labels refusal/persuasion from the transcript, besides the heuristics
    stats: StatsDesign = Field(default_factory=StatsDesign)  # the scenario's, as it was when the run began


class TrialSpec(Strict):
    index: int
    seed: int
    label: str = Field(validation_alias=AliasChoices("label", "condition"))


class Rate(BaseModel):
    count: int
    rate: float | None  # None when no trial completed
    ci95: tuple[float, float] | None


class Summary(BaseModel):
    harness: str
    scenario: str
    model: str
    label: str = Field(validation_alias=AliasChoices("label", "condition"))
    cell: dict[str, str] = Field(default_factory=dict)
    simulated: bool
    trials: int
    outcomes: dict[str, int]
    behaviors: dict[str, Rate]
    awareness: Rate | None = None  # trials where the agent said it thinks it is tested; None in older summaries
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    duration_s: float = 0.0
    retried: int = 0  # trials rerun with --retry-errors
    cost_usd: float | None = None  # estimated from the price table; None when the model has no known price
    model_versions: list[str] = Field(default_factory=list)


TrialEvidence.model_rebuild()

"""OpenCode as the agent: `opencode run` against the gateway's OpenAI API, with nothing left for it to download.

The facts behind every setting here are in docs/harnesses/opencode.md (measured with the pinned version).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

from harness_eval.harnesses.base import Launch, LaunchContext
from harness_eval.harnesses.clibase import DUMMY_API_KEY, CliHarness
from harness_eval.harnesses.opencode.parse import parse_run
from harness_eval.harnesses.opencode.spec import PLUGIN_DIR, RG_PATH, SPEC
from harness_eval.harnesses.spec import HarnessSpec
from harness_eval.models import Transcript

PROVIDER = "local"
# A fixed, bland session title: it skips a title-generation request that no policy script expects.
TITLE = "Session"

ENV: dict[str, str] = {
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    # OPENCODE_DISABLE_PROJECT_CONFIG stays unset: it also stops OpenCode reading the workspace's AGENTS.md,
    # which is how the instructions reach the model.
}

# Default permissions auto-reject anything outside the workspace in `run` mode, silently; that would deflate
# exactly the behaviours under study, so everything is allowed, as in the study.
PERMISSION: dict[str, str] = {"*": "allow", "external_directory": "allow", "doom_loop": "allow"}


def config(gateway_url: str, model: str) -> dict[str, Any]:
    """The global config: one OpenAI-compatible provider (built into the binary, so nothing is fetched)."""
    limits = {"context": 128000, "output": 8192}
    return {
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Local",
                "options": {"baseURL": f"{gateway_url}/v1", "apiKey": DUMMY_API_KEY},
                "models": {model: {"name": model, "tool_call": True, "limit": limits}},
            }
        },
        "model": f"{PROVIDER}/{model}",
        "small_model": f"{PROVIDER}/{model}",
        "autoupdate": False,
        "share": "disabled",
        "snapshot": False,
        "permission": PERMISSION,
    }


class OpenCodeHarness(CliHarness):
    spec: ClassVar[HarnessSpec] = SPEC

    def prepare(self, ctx: LaunchContext) -> Launch:
        info, bind, command = self.installation(ctx)
        env = self.base_env(ctx) | ENV
        config_dir = ctx.home / ".config" / "opencode"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "opencode.json").write_text(json.dumps(config(ctx.gateway_url, ctx.model), indent=2) + "\n")
        # With the plugin already listed and present, OpenCode skips its start-up `npm install` (a network call).
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(info.prefix / PLUGIN_DIR / name, config_dir / name)
        _symlink(config_dir / "node_modules", f"{self.mount}/{PLUGIN_DIR}/node_modules")
        # And with an rg in its cache it never downloads ripgrep for glob/grep.
        _symlink(ctx.home / ".cache" / "opencode" / RG_PATH, f"{self.mount}/{RG_PATH}")
        self.write_instructions(ctx)
        argv = [*command, "run", "--format", "json", "--title", TITLE, "--model", f"{PROVIDER}/{ctx.model}"]
        # The prompt goes on stdin: as an argv string with spaces it reached the model wrapped in quotes.
        return Launch(argv=argv, env=env, stdin=ctx.plan.user_prompt.encode(), binds=[bind])

    def parse(self, stdout: str, stderr: str, exit_code: int | None) -> Transcript:
        return parse_run(stdout, stderr, exit_code)


def _symlink(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(target)

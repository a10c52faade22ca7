"""Run a composite GitHub Action's steps here, as a runner would: `run_action.py ACTION_DIR
[NAME=VALUE ...]` (the inputs).

The caller gives the environment GitHub gives a step (RUNNER_TEMP, RUNNER_OS, GITHUB_STEP_SUMMARY,
GITHUB_ACTION_REF, ...). Each `run:` step runs with its shell, its `env:` (expressions
`${{ inputs.X }}`, `${{ steps.ID.outputs.X }}`, `${{ github.action_ref }}`, `${{ runner.os }}`,
`${{ runner.arch }}` substituted), GITHUB_ACTION_PATH, a GITHUB_OUTPUT file of its own (read back
into `steps.ID.outputs`) and GITHUB_PATH (prepended to PATH for the later steps). `uses:` steps
(actions/cache) cannot run outside GitHub and are passed over, as a cache miss would be. The
steps' output goes through unchanged (the annotations are in it); the exit code is the first
failing step's, as a composite action stops there.
"""

import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def evaluate(text, context):
    def one(match):
        parts = match.group(1).split(".")
        value = context
        for part in parts:
            if not isinstance(value, dict) or part not in value:
                raise SystemExit(f"run_action.py: unknown expression {match.group(0)}")
            value = value[part]
        return str(value)

    return EXPRESSION.sub(one, str(text))


def main():
    action_dir = os.path.abspath(sys.argv[1])
    given = dict(arg.split("=", 1) for arg in sys.argv[2:])
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    assert action["runs"]["using"] == "composite", "only composite actions"
    inputs = {name: spec.get("default", "") for name, spec in action.get("inputs", {}).items()}
    unknown = set(given) - set(inputs)
    if unknown:
        raise SystemExit(f"run_action.py: the action has no input {sorted(unknown)}")
    inputs.update(given)
    arch = {"x86_64": "X64", "aarch64": "ARM64"}.get(os.uname().machine, os.uname().machine)
    context = {
        "inputs": inputs,
        "steps": {},
        "github": {"action_ref": os.environ.get("GITHUB_ACTION_REF", "")},
        "runner": {"os": os.environ.get("RUNNER_OS", "Linux"), "arch": arch},
    }
    work = tempfile.mkdtemp(prefix="run-action-")
    path_file = os.path.join(work, "path")
    open(path_file, "w").close()
    for index, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"step{index}")
        if "uses" in step:
            print(f"run_action.py: {step_id}: `uses: {step['uses']}` passed over (GitHub runs it)", file=sys.stderr)
            context["steps"][step_id] = {"outputs": {}}
            continue
        output_file = os.path.join(work, f"output-{index}")
        open(output_file, "w").close()
        env = dict(os.environ)
        with open(path_file) as f:
            added = [line.strip() for line in f if line.strip()]
        env["PATH"] = os.pathsep.join(list(reversed(added)) + [env.get("PATH", "")])
        env.update({k: evaluate(v, context) for k, v in step.get("env", {}).items()})
        env.update({"GITHUB_ACTION_PATH": action_dir, "GITHUB_OUTPUT": output_file, "GITHUB_PATH": path_file})
        shell = step.get("shell")
        assert shell == "bash", f"step {step_id}: shell {shell!r}, expected bash"
        script = evaluate(step["run"], context)
        code = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env).returncode
        outputs = {}
        with open(output_file) as f:
            for line in f:
                if "=" in line:
                    key, value = line.rstrip("\n").split("=", 1)
                    outputs[key] = value
        context["steps"][step_id] = {"outputs": outputs}
        if code != 0:
            print(f"run_action.py: step {step_id} exited {code}", file=sys.stderr)
            sys.exit(code)
    sys.exit(0)


if __name__ == "__main__":
    main()

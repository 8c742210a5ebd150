#!/usr/bin/env python3
"""Runs every command block of README.md as written and compares what it prints with what README shows.

    python3 scripts/readme-check.py [--bin DIR] [--keep]

Blocks it runs, in README order, in one bash session (so `set -a; . ./emulator.env` and `cmd &` carry
over from one block to the next), in a scratch folder that holds the repository's `samples/` and
`Tests/` (symbolic links) and `../shared` beside it, so that paths read exactly as in README:

- a fenced block whose lines start with `$ `: each `$ COMMAND` line is run; the lines after it, up to the
  next `$ ` line, are the output README promises (standard output and standard error together);
- a ```sh block: each line is a command, except the set-up lines CI itself performs (`apt-get`,
  `xargs apt-get`, `swift build`, `swift test`); a plain block right after it is the output of its
  last command (the demo's).

Output is compared line by line after normalising what legitimately differs between runs: the
scratch folder (and README's `/work/main` and `/home/me`) becomes `<dir>`, loopback ports, task and
batch ids, and durations (`10.3 s`, `12 ms`). Everything else must match exactly: byte counts, sizes,
messages. In README, a line `…` (or `...`) stands for any number of lines, and `…`/`...` inside a line
for any text. A command must exit 0 unless its line ends with a comment saying `(exit N)`. A command
ending in `&` runs in the background; when it names `--port P`, the check waits for that port, and its
output may continue past what README shows. Base64-looking lines are compared verbatim.

Exit status 0 when every command matched, 1 otherwise (each mismatch is printed with README's line).
Standard library only (runs wherever python3 does).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = re.compile(r"^\s*(apt-get|xargs apt-get|sudo |swift (build|test)\b)")
ANY_LINE = {"…", "..."}


class Step:
    def __init__(self, command, line, expected, background):
        self.command = command
        self.line = line              # README's line number of the command
        self.expected = expected      # list of lines, or None (only the exit status is checked)
        self.background = background
        m = re.search(r"#.*\(exit (\d+)\)\s*$", command)
        self.exit = int(m.group(1)) if m else 0
        port = re.search(r"--port (\d+)", command)
        self.port = int(port.group(1)) if port and background else None


def fenced_blocks(text):
    """(language, first content line number, lines) of every ``` block."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        yield m.group(1), start + 1, lines[start:j]
        i = j + 1


def steps_from(text):
    steps = []
    previous_sh = None   # (steps appended for the last ```sh block, index of its closing line)
    for language, first, lines in fenced_blocks(text):
        if language == "swift":   # compiled by ReadmeSnippetTests
            previous_sh = None
            continue
        if language in ("sh", "bash", "shell"):
            added = []
            for k, line in enumerate(lines):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                runnable = [c for c in re.split(r"\s*&&\s*", line) if not SETUP.match(c)]
                if not runnable:
                    continue
                step = Step(" && ".join(runnable), first + k, None, line.rstrip().endswith("&"))
                steps.append(step)
                added.append(step)
            previous_sh = added or None
            continue
        if any(l.startswith("$ ") for l in lines):
            previous_sh = None
            current = None
            for k, line in enumerate(lines):
                if line.startswith("$ "):
                    command = line[2:]
                    current = Step(command, first + k, [], command.split("#")[0].rstrip().endswith("&"))
                    steps.append(current)
                elif current is not None:
                    current.expected.append(line)
            continue
        if previous_sh and language == "":
            previous_sh[-1].expected = lines   # the demo's output
        previous_sh = None
    # A `$` command followed by no lines promises nothing about its output.
    for step in steps:
        if step.expected is not None and not step.expected:
            step.expected = None
    return steps


def script(steps, out):
    parts = ["set +e", "exec < /dev/null"]
    for n, step in enumerate(steps):
        body = step.command.rstrip()
        parts.append(f"{{\n{body}\n}} > {out}/{n}.out 2>&1")
        parts.append(f"echo $? > {out}/{n}.rc")
        if step.port:
            parts.append(
                f"for _ in $(seq 600); do (echo > /dev/tcp/127.0.0.1/{step.port}) 2>/dev/null && break; sleep 0.1; done")
            parts.append("sleep 0.3")   # its first lines are printed just after it listens
    parts.append("for p in $(jobs -p); do kill -INT $p 2>/dev/null; done; wait")
    return "\n".join(parts) + "\n"


def normalise(line, dirs):
    line = line.rstrip()
    if re.fullmatch(r"[A-Za-z0-9+/=]{20,}", line):
        return line
    for d in dirs:
        line = line.replace(d, "<dir>")
    line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", line)
    line = re.sub(r"\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{16,32}\b", "<id>", line)
    line = re.sub(r"\b\d+(\.\d+)? (s|ms)\b", r"<time> \2", line)
    return line


def pattern(expected, allow_more):
    any_lines = r"(?:[^\n]*\n)*?"
    out = []
    for line in expected:
        if line.strip() in ANY_LINE:
            out.append(any_lines)
            continue
        escaped = re.escape(normalise(line, ["/work/main", "/home/me"]))
        escaped = escaped.replace(re.escape("..."), ".*").replace(re.escape("…"), ".*")
        out.append(escaped + r"\n")
    if allow_more:
        out.append(any_lines)
    return re.compile("".join(out) + r"\Z")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"),
                        help="folder holding the built klingkit (default .build/debug)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print its path")
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    args = parser.parse_args()
    binary = os.path.join(args.bin, "klingkit")
    if not os.access(binary, os.X_OK):
        sys.exit(f"readme-check: {binary} is not there; build first (swift build)")
    steps = steps_from(open(args.readme, encoding="utf-8").read())
    if not steps:
        sys.exit("readme-check: README.md has no command blocks")

    scratch = tempfile.mkdtemp(prefix="klingkit-readme-")
    work = os.path.join(scratch, "main")
    out = os.path.join(scratch, "outputs")
    os.makedirs(work)
    os.makedirs(out)
    for name in ("samples", "Tests"):
        os.symlink(os.path.join(ROOT, name), os.path.join(work, name))
    os.makedirs(os.path.join(work, ".build"))
    os.symlink(os.path.abspath(args.bin), os.path.join(work, ".build", "debug"))
    shared = os.path.join(os.path.dirname(ROOT), "shared")
    if os.path.isdir(shared):
        os.symlink(shared, os.path.join(scratch, "shared"))
    env = dict(os.environ)
    env["PATH"] = os.path.abspath(args.bin) + os.pathsep + env.get("PATH", "")
    # README's commands must work from a clean shell: no credentials, and a home of their own (so that
    # `klingkit resume` sees only the journal these commands write).
    for key in ("KLING_ACCESS_KEY", "KLING_SECRET_KEY", "KLING_BASE_URL", "COMETAPI_KEY", "COMETAPI_BASE_URL",
                "KLINGKIT_JOURNAL", "XDG_STATE_HOME"):
        env.pop(key, None)
    env["HOME"] = os.path.join(scratch, "home")
    os.makedirs(env["HOME"])
    with open(os.path.join(scratch, "run.sh"), "w") as f:
        f.write(script(steps, out))
    try:
        subprocess.run(["bash", os.path.join(scratch, "run.sh")], cwd=work, env=env, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        print("readme-check: the commands did not finish within 900 s", file=sys.stderr)

    dirs = [os.path.realpath(work), work]
    failures = 0
    for n, step in enumerate(steps):
        try:
            status = int(open(os.path.join(out, f"{n}.rc")).read().strip())
        except (OSError, ValueError):
            status = None
        text = open(os.path.join(out, f"{n}.out"), encoding="utf-8", errors="replace").read() \
            if os.path.exists(os.path.join(out, f"{n}.out")) else ""
        actual = "".join(normalise(l, dirs) + "\n" for l in text.splitlines())
        problems = []
        if status != step.exit:
            problems.append(f"exit status {status}, README says {step.exit}")
        if step.expected is not None and not pattern(step.expected, step.background).match(actual):
            problems.append("output differs from README")
        label = f"{os.path.basename(args.readme)}:{step.line}: {step.command.strip()}"
        if problems:
            failures += 1
            print(f"FAIL {label}\n  " + "; ".join(problems))
            if step.expected is not None:
                print("  README shows:")
                for line in step.expected:
                    print("    " + line)
            print("  printed:")
            for line in text.rstrip("\n").split("\n")[:40]:
                print("    " + line)
        else:
            print(f"ok   {label}")
    print(f"readme-check: {len(steps) - failures} of {len(steps)} commands as README shows"
          + ("" if not args.keep else f" (scratch folder {scratch})"))
    if not args.keep:
        subprocess.run(["rm", "-rf", scratch], check=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

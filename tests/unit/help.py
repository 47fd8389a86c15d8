#!/usr/bin/env python3
"""The help cannot drift from the program: every command the dispatcher
knows has help with options, exit codes and examples; every option a parser
accepts is documented; every key edgeship.conf accepts is in
edgeship.conf(5); both man pages render without a warning. Prints TAP.

The commands, options and keys are read from the sources (tui/cli/cli.c's
ES_COMMANDS, the strcmp()s and getopt table of the parsers, core/conf.c's
keys[]), not from the help, so a new one without help fails here."""

import os
import re
import shutil
import subprocess
import sys

SRC = os.environ.get("ES_SRCDIR", ".")
BUILD = os.environ.get("ES_BUILDDIR", ".")
ES = os.path.join(BUILD, "edgeship")

n = 0
failed = 0


def ok(cond, desc, diag=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {desc}")
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[:30]:
            print("# " + line)


def run(*args):
    p = subprocess.run([ES, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def read(path):
    with open(os.path.join(SRC, path), encoding="utf-8") as f:
        return f.read()


def commands():
    """The names in ES_COMMANDS, as the dispatcher has them."""
    text = read("tui/cli/cli.c")
    block = re.search(r"#define ES_COMMANDS\(X\)(.*?)\n\n", text, re.S).group(1)
    return re.findall(r'X\("([^"]+)"', block)


def own_options(path):
    """The options a command's own parser (cmd_package.c) compares with."""
    text = read(path)
    opts = set(re.findall(r'strn?cmp\(\s*[a-z]+\s*,\s*"(-[A-Za-z-]+)=?"', text))
    return opts | set(re.findall(r'value_of\([^"]*"(-[A-Za-z-]+)"', text))


def parser_options():
    """Every option string a command-line parser compares an argument with:
    the getopt table of cli.c and the strcmp()s of tui/cli/*.c."""
    opts = set()
    cli = read("tui/cli/cli.c")
    table = re.search(r"static const struct option opts\[\] = \{(.*?)\};", cli, re.S).group(1)
    opts |= {"--" + name for name in re.findall(r'\{"([a-z-]+)",', table)}
    opts |= {"-" + c for c in re.search(r'getopt_long\([^"]*"\+?([A-Za-z]*)"', cli).group(1)}
    for f in sorted(os.listdir(os.path.join(SRC, "tui/cli"))):
        if not f.endswith(".c") or f.startswith("help"):
            continue
        text = read(os.path.join("tui/cli", f))
        for m in re.finditer(r'str(?:n?cmp)\(\s*[a-z_>.\[\]-]+\s*,\s*"(-[A-Za-z-]+)=?"', text):
            opts.add(m.group(1))
        for m in re.finditer(r'strn?cmp\(\s*"(-[A-Za-z-]+)=?"', text):
            opts.add(m.group(1))
    return opts


def documented(text):
    """Options in the option lists of a help text: '  -s, --stage NAME'."""
    found = set()
    for line in text.splitlines():
        m = re.match(r"^  ((?:-[A-Za-z], )?--?[A-Za-z][A-Za-z-]*)", line)
        if m:
            found |= set(m.group(1).split(", "))
    return found


def conf_keys():
    text = read("core/conf.c")
    table = re.search(r"static const struct key keys\[\] = \{(.*?)\n\};", text, re.S).group(1)
    return re.findall(r'\{S_([A-Z]+), "([a-z-]+)"', table)


def lint(page, name):
    """groff's warnings and mandoc's lint, each must say nothing."""
    p = subprocess.run(["groff", "-man", "-ww", "-z"], input=page, capture_output=True,
                       text=True)
    ok(p.returncode == 0 and not p.stderr.strip(), f"{name}: groff -man -ww -z says nothing",
       p.stderr)
    # man on a terminal without UTF-8 renders with the ASCII device, which
    # has no glyph for most characters beyond ASCII.
    p = subprocess.run(["groff", "-man", "-ww", "-z", "-Tascii"], input=page,
                       capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    ok(p.returncode == 0 and not p.stderr.strip(),
       f"{name}: groff -Tascii in the C locale says nothing", p.stderr)
    p = subprocess.run(["mandoc", "-T", "lint", "-W", "all"], input=page, capture_output=True,
                       text=True)
    ok(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
       f"{name}: mandoc -T lint -W all says nothing", p.stdout + p.stderr)


def main():
    for tool in ("groff", "mandoc"):
        if not shutil.which(tool):
            print(f"Bail out! {tool} is not installed: sh tools/install-deps")
            return 1

    names = commands()
    ok(len(names) >= 15, "ES_COMMANDS read from cli.c", names)
    rc, usage, err = run("--help")
    ok(rc == 0, "edgeship --help exits 0", err)
    all_help = usage
    for name in names:
        rc, out, err = run("help", name)
        want = ["usage: edgeship " + name, "Exit codes:\n  0", "Examples:\n  "]
        ok(rc == 0 and all(w in out for w in want),
           f"help {name}: synopsis, exit codes and examples", out + err)
        for flag in ("--help", "-h"):
            rc2, out2, err2 = run(name, flag)
            ok(rc2 == 0 and out2 == out, f"{name} {flag} prints help {name}", out2 + err2)
        ok(re.search(r"^  " + re.escape(name) + r"\b", usage, re.M) is not None,
           f"edgeship --help lists {name}")
        all_help += out

    accepted = parser_options()
    ok({"--stage", "--to", "--yes", "--no-upload", "--output-template", "--profile"} <= accepted,
       "the parsers' options read from the sources", sorted(accepted))
    missing = sorted(accepted - documented(all_help))
    ok(not missing, "every option a parser accepts is in some command's help",
       "undocumented: " + " ".join(missing))

    # A command that parses its own options documents each in its own help.
    rc, out, err = run("help", "package")
    own = own_options("tui/cli/cmd_package.c")
    ok("--no-upload" in own, "package's own options read from cmd_package.c", sorted(own))
    missing = sorted(own - documented(out) - {"--help", "-h"})
    ok(not missing, "help package documents every option cmd_package.c accepts",
       "undocumented: " + " ".join(missing))
    rc, out, err = run("help", "init")
    own = own_options("tui/cli/cmd_init_pipeline.c")
    ok({"--pipeline", "--source", "--force"} <= own, "init --pipeline's options read from "
       "cmd_init_pipeline.c", sorted(own))
    missing = sorted(own - documented(out) - {"--help", "-h"})
    ok(not missing, "help init documents every option cmd_init_pipeline.c accepts",
       "undocumented: " + " ".join(missing))

    rc, out, err = run("help", "NOPE")
    ok(rc == 2 and "no command 'NOPE'" in err and "deploy" in err and not out,
       "help NOPE: exit 2, says so, lists the commands", out + err)
    rc, out, err = run("NOPE", "--help")
    ok(rc == 2 and "unknown command 'NOPE'" in err, "NOPE --help: exit 2", out + err)
    rc, out, err = run("help", "--completion", "tcsh")
    ok(rc == 2 and "bash, zsh or fish" in err, "help --completion tcsh: exit 2", out + err)

    rc, man1, err = run("help", "--man")
    ok(rc == 0 and man1.startswith(".\\\"") and ".TH EDGESHIP 1" in man1,
       "help --man prints edgeship(1)", err)
    lint(man1, "edgeship(1)")
    for name in names:
        ok(f".SS {name}\n" in man1, f"edgeship(1) describes {name}")
    for opt in sorted(accepted):
        roff = opt.replace("-", "\\-")
        ok(f"\\fB{roff}\\fR" in man1, f"edgeship(1) documents {opt}")

    rc, man5, err = run("help", "--man-conf")
    ok(rc == 0 and ".TH EDGESHIP.CONF 5" in man5, "help --man-conf prints edgeship.conf(5)", err)
    lint(man5, "edgeship.conf(5)")
    keys = conf_keys()
    ok(len(keys) >= 20, "keys[] read from core/conf.c", keys)
    for section, key in keys:
        heading = {"APP": '.SS "[app]"', "STAGE": '.SS "[stage \\(dqNAME\\(dq]"',
                   "CHECK": '.SS "[check \\(dqNAME\\(dq]"'}.get(section, f'.SS "[{section.lower()}]"')
        start = man5.find(heading)
        end = man5.find(".SS", start + 1)
        part = man5[start:end if end > 0 else len(man5)]
        roff = key.replace("-", "\\-") if key.startswith("-") else key
        ok(start >= 0 and f"\\fB{roff}\\fR = " in part,
           f"edgeship.conf(5) documents {key} under [{section.lower()}]")
    for text in ("[stage \"staging\"]", "promotes-from = staging", "git-config"):
        ok(text in man5.replace("\\-", "-"), f"edgeship.conf(5) holds {text!r}")

    print(f"1..{n}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

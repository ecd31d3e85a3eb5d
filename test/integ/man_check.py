#!/usr/bin/env python3
"""Man-page drift check: the options a program's --help lists against the
options its mdoc page documents, and `mandoc -T lint` of the page.

    man_check.py [BUILD_DIR] PROGRAM ROLE PAGE
    man_check.py [BUILD_DIR] --self-test

PROGRAM is a path, or a name looked up under BUILD_DIR (the first argument
CTest's pk_add_integ gives). ROLE is the role ("client"), or "-" for a tool
without roles; `PROGRAM ROLE --help` (or `PROGRAM --help`) is run.

From --help: every line whose first column starts with '-' (an option
line); its fields (split on two or more blanks) that start with '-' give the
options, short and long: "  -p, --port PORT   port ..." gives -p and
--port; "  -h, --help   this text;  -V, --version  the version" gives all
four; "  -4, -6   IPv4 or IPv6 only" gives -4 and -6.

From the page: the `.It` items of the OPTIONS section's lists whose head
is Fl macros: `.It Fl p , Fl -port Ar port` gives -p and --port, `.It Fl Fl
long` gives --long. When OPTIONS has `.Ss` subsections, the one whose
heading begins with the role's name ("Client options") is used, else the
whole section.

Reported: options in --help missing from the page, and the reverse. Lint:
every mandoc message fails the check except the STYLE note "referenced
manual not found" (an `Xr` to a page not installed where the test runs,
e.g. ping(8) or the other probekit pages before installation); no mandoc on
the host: the lint is skipped with a note. Exit 0 clean, 1 drift or lint.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

OPT_RE = re.compile(r"(?<![\w-])(--[A-Za-z0-9][A-Za-z0-9-]*|-[A-Za-z0-9])(?![\w])")
# An .Xr to a page this host does not have, or one its mandoc.db does not
# list yet: about the host, not the page.
LINT_OK = ("referenced manual not found", "outdated mandoc.db lacks")


def help_options(text):
    opts = set()
    for line in text.splitlines():
        if not re.match(r"^\s+-", line):
            continue
        for field in re.split(r"\s{2,}", line.strip()):
            if not field.startswith("-"):
                continue
            # the option spec ends where the value name or a word starts
            for tok in re.split(r"[,\s|]+", field):
                m = re.fullmatch(r"(--[A-Za-z0-9][A-Za-z0-9-]*|-[A-Za-z0-9])(=\S*)?", tok)
                if m:
                    opts.add(m.group(1))
    return opts


def _item_options(args):
    """Options of one `.It` line's arguments (a list of words)."""
    opts = set()
    i = 0
    while i < len(args):
        if args[i] == "Fl":
            if i + 2 < len(args) and args[i + 1] == "Fl" and args[i + 2] not in ("Fl", "Ar", ","):
                opts.add("--" + args[i + 2])
                i += 3
                continue
            if i + 1 < len(args) and args[i + 1] not in ("Fl", "Ar", ",", "|"):
                opts.add("-" + args[i + 1])
                i += 2
                continue
        i += 1
    return opts


def page_options(text, role):
    lines = text.splitlines()
    section, start, end = None, None, len(lines)
    for n, line in enumerate(lines):
        if line.startswith(".Sh "):
            if section == "OPTIONS":
                end = n
                break
            section = line[4:].strip().strip('"').upper()
            if section == "OPTIONS":
                start = n + 1
    if start is None:
        return None
    body = lines[start:end]
    subs = [(n, l[4:].strip().strip('"')) for n, l in enumerate(body) if l.startswith(".Ss ")]
    if subs and role and role != "-":
        for k, (n, title) in enumerate(subs):
            if title.lower().startswith(role.lower()):
                stop = subs[k + 1][0] if k + 1 < len(subs) else len(body)
                body = body[n + 1:stop]
                break
    opts = set()
    for line in body:
        if line.startswith(".It "):
            words = line[4:].split()
            if words and words[0] == "Fl":
                opts |= _item_options(words)
    return opts


def lint(page):
    if shutil.which("mandoc") is None:   # env/packages installs it
        return ["mandoc not found: install it (env/run.sh deps)"]
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "all", page],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return [l for l in r.stdout.splitlines()
            if l.strip() and not any(ok in l for ok in LINT_OK)]


def find_program(build, prog):
    if os.sep in prog or build is None:
        return prog
    for root, _dirs, files in os.walk(build):
        if prog in files and os.access(os.path.join(root, prog), os.X_OK):
            return os.path.join(root, prog)
    return prog


def check(program, role, page, quiet=False):
    argv = [program] + ([role] if role and role != "-" else []) + ["--help"]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=10)
    problems = []
    if r.returncode != 0:
        problems.append("%s exited %d" % (" ".join(argv), r.returncode))
    hopts = help_options(r.stdout)
    with open(page) as f:
        popts = page_options(f.read(), role)
    if popts is None:
        problems.append("%s: no OPTIONS section" % page)
        popts = set()
    for o in sorted(hopts - popts):
        problems.append("%s in --help, not in %s" % (o, os.path.basename(page)))
    for o in sorted(popts - hopts):
        problems.append("%s in %s, not in --help" % (o, os.path.basename(page)))
    problems += ["lint: " + l for l in lint(page)]
    if not quiet:
        for p in problems:
            print(p)
        print("%s %s: %d options in --help, %d on the page, %s" %
              (os.path.basename(program), role, len(hopts), len(popts),
               "ok" if not problems else "%d problems" % len(problems)))
    return problems


FAKE_HELP = """usage: fake client [-c COUNT] [-q] HOST
Sends things.
  -c, --count COUNT      how many (default 10; with -q fewer lines)
  -4, -6                 IPv4 or IPv6 only
      --csv              CSV
  -q, --quiet            summary only
  -h, --help             this text;  -V, --version  the version
"""

FAKE_PAGE = """.Dd November 30, 2026
.Dt FAKE 1
.Os
.Sh NAME
.Nm fake
.Nd a fake tool for the self-test
.Sh SYNOPSIS
.Nm
.Cm client
.Op Fl q
.Ar host
.Sh DESCRIPTION
It sends things.
.Sh OPTIONS
.Ss Server options
.Bl -tag -width Ds
.It Fl p , Fl -port Ar port
the port.
.El
.Ss Client options
.Bl -tag -width Ds
.It Fl c , Fl -count Ar count
how many.
.It Fl 4 , Fl 6
IPv4 or IPv6 only.
.It Fl Fl csv
CSV.
.It Fl q , Fl -quiet
summary only.
.It Fl h , Fl -help
this text.
.It Fl V , Fl -version
the version.
.El
.Sh EXIT STATUS
.Ex -std
.Sh SEE ALSO
.Xr nosuchpage 1
"""


def self_test():
    fails = []
    d = tempfile.mkdtemp(prefix="man_check.")
    try:
        prog = os.path.join(d, "fake")
        with open(os.path.join(d, "help.txt"), "w") as f:
            f.write(FAKE_HELP)
        with open(prog, "w") as f:
            f.write("#!/bin/sh\ncat '%s'\n" % os.path.join(d, "help.txt"))
        os.chmod(prog, 0o755)
        page = os.path.join(d, "fake.1")
        with open(page, "w") as f:
            f.write(FAKE_PAGE)
        want = {"-c", "--count", "-4", "-6", "--csv", "-q", "--quiet", "-h", "--help", "-V", "--version"}
        if help_options(FAKE_HELP) != want:
            fails.append("help options %s" % sorted(help_options(FAKE_HELP)))
        if page_options(FAKE_PAGE, "client") != want:
            fails.append("page options %s" % sorted(page_options(FAKE_PAGE, "client")))
        if page_options(FAKE_PAGE, "server") != {"-p", "--port"}:
            fails.append("server subsection %s" % sorted(page_options(FAKE_PAGE, "server")))
        p = check(prog, "client", page, quiet=True)
        if p:
            fails.append("clean pair reported: %s" % p)
        # drift both ways
        with open(page, "w") as f:
            f.write(FAKE_PAGE.replace(".It Fl Fl csv\nCSV.\n", ".It Fl -frob\nfrob.\n"))
        p = check(prog, "client", page, quiet=True)
        if not any("--csv in --help, not in" in x for x in p) or \
           not any("--frob in fake.1, not in --help" in x for x in p):
            fails.append("drift not reported: %s" % p)
        # lint: a broken page
        if shutil.which("mandoc"):
            with open(page, "w") as f:
                f.write(FAKE_PAGE.replace(".Dd November 30, 2026\n", "").replace(".El\n.Sh EXIT", ".Sh EXIT"))
            p = check(prog, "client", page, quiet=True)
            if not any(x.startswith("lint: ") for x in p):
                fails.append("lint problems not reported: %s" % p)
    finally:
        shutil.rmtree(d)
    for f in fails:
        print("FAIL", f)
    print("man_check self-test: %s" % ("FAIL" if fails else "ok"))
    return 1 if fails else 0


def main(argv):
    args = argv[1:]
    build = None
    if args and os.path.isdir(args[0]) and not args[0].endswith(".1"):
        build = args.pop(0)
    if args == ["--self-test"]:
        return self_test()
    if len(args) != 3:
        print(__doc__)
        return 2
    prog, role, page = args
    return 1 if check(find_program(build, prog), role, page) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

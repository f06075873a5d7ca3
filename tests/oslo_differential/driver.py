#!/usr/bin/env python3
"""Asks the real oslo.rootwrap what it decides, for the differential test.

Reads a JSON request on stdin:
    {"files": [PATH, ...], "exec_dirs": [DIR, ...], "sleep_pid": PID,
     "other_pid": PID}
loads each filter file alone with oslo_rootwrap.wrapper.load_filters (as
the only file of a filters_path directory), generates command lines from
each filter's definition (calls that match, and near misses), and writes
on stdout, as JSON, oslo's decision for each one through
wrapper.match_filter: allow (with the filter, the argv oslo would execute
and the user), deny, or noexec. Nothing is ever executed.

The command lines are derived from oslo's own parse of the filters, not
from the importer's, so that both sides are independent.
"""

import json
import os
import re
import shutil
import sys
import tempfile

try:  # Python 3.11+
    from re import _constants as C
    from re import _parser as P
except ImportError:  # older Pythons
    import sre_constants as C
    import sre_parse as P

from oslo_rootwrap import filters as F
from oslo_rootwrap import wrapper

# How many command lines one filter may produce, at most.
PER_FILTER = 40
# Characters tried, in order, when a character class must be satisfied.
CANDIDATES = "a0x/-_.:5AZz9 ~%@=+,"
ARABIC_THREE = "\u0663"


class Generator:
    """Command lines for the filters of one file."""

    def __init__(self, filters, exec_dirs, sleep_pid, other_pid):
        self.filters = filters
        self.exec_dirs = exec_dirs
        self.sleep_pid = str(sleep_pid)
        # A live process that runs none of the targets (the test itself).
        self.other_pid = str(other_pid)
        self.leaves = {}

    # ------------------------------------------------------------ samples

    def in_class(self, ch, items):
        negate, hit = False, False
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                hit = hit or ord(ch) == av
            elif op is C.RANGE:
                hit = hit or av[0] <= ord(ch) <= av[1]
            elif op is C.CATEGORY:
                probe = {
                    C.CATEGORY_DIGIT: r"\d",
                    C.CATEGORY_NOT_DIGIT: r"\D",
                    C.CATEGORY_SPACE: r"\s",
                    C.CATEGORY_NOT_SPACE: r"\S",
                    C.CATEGORY_WORD: r"\w",
                    C.CATEGORY_NOT_WORD: r"\W",
                }.get(av)
                hit = hit or bool(probe and re.fullmatch(probe, ch))
        return hit != negate

    def pick(self, items):
        """A character of a class: its first member when it lists them."""
        for op, av in items:
            if op is C.NEGATE:
                break
            if op is C.LITERAL:
                return chr(av)
            if op is C.RANGE:
                return chr(av[0])
        found = [c for c in CANDIDATES if self.in_class(c, items)]
        return found[0] if found else "a"

    def strings(self, pattern, longer):
        """A few strings made from a parsed pattern (not all of them match:
        look-arounds and anchors are ignored; the caller checks)."""
        out = [""]
        for op, av in pattern:
            if op is C.LITERAL:
                choices = [chr(av)]
            elif op is C.NOT_LITERAL:
                choices = ["a" if av != ord("a") else "b"]
            elif op is C.ANY:
                choices = ["x"]
            elif op is C.IN:
                choices = [self.pick(av)]
            elif op is C.BRANCH:
                choices = []
                for branch in av[1]:
                    choices.extend(self.strings(branch, longer)[:1])
            elif op is C.SUBPATTERN:
                choices = self.strings(av[-1], longer)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None):
                low, high, sub = av
                count = low if low > 0 else (1 if high >= 1 else 0)
                if longer and high > count:
                    count += 1
                inner = self.strings(sub, longer)[:1] or [""]
                choices = [inner[0] * count]
            else:  # anchors, look-arounds, group references
                choices = [""]
            out = [a + b for a in out for b in choices][:6]
        return out

    def samples(self, regex):
        """Strings the Python regex accepts as oslo uses it."""
        try:
            parsed = P.parse(regex)
            made = self.strings(parsed, False) + self.strings(parsed, True)
        except Exception:  # noqa: BLE001 - an invalid regex has no samples
            return []
        good = []
        for s in made:
            try:
                ok = re.match(regex + "$", s)
            except re.error:
                return []
            if ok and s not in good:
                good.append(s)
        return good

    def branch_prefix(self, regex):
        """For an ungrouped `A|B`: a string that A matches, then junk (oslo
        anchors only the last alternative at the end)."""
        first = top_level_alternatives(regex)[0]
        if first == regex:
            return None
        found = self.samples(first)
        return found[0] + "XYZ" if found else None

    # ------------------------------------------------------------ variants

    def mutations(self, value):
        """Near misses of one argument value."""
        out = [(value + "X", "suffix"), (value + "\n", "newline"), ("", "empty")]
        if re.search(r"[0-9]", value):
            out.append((re.sub(r"[0-9]", ARABIC_THREE, value), "unicode-digit"))
        if re.search(r"[a-z]", value):
            out.append((re.sub(r"[a-z]", lambda m: "\u00e9", value, count=1), "unicode-letter"))
        if value.startswith("/"):
            out.append((value.rstrip("/") + "/../../../../../../rootwrap-escape", "dotdot"))
            out.append((value.rstrip("/") + "2", "sibling"))
        return out

    def regex_lines(self, f, chaining):
        regexes = list(f.args)
        if not regexes:
            return []
        columns = []
        for regex in regexes:
            found = self.samples(regex)
            columns.append(found or ["x"])
        base = [c[0] for c in columns]
        lines = [(base, "match")]
        for i, column in enumerate(columns):
            for other in column[1:3]:
                lines.append((base[:i] + [other] + base[i + 1:], "match-variant"))
        if not chaining:
            lines.append((base[:-1], "arity-short"))
            lines.append((base + ["extra"], "arity-long"))
        for i in range(1, min(len(base), 8)):
            for value, kind in self.mutations(base[i]):
                lines.append((base[:i] + [value] + base[i + 1:], kind))
            prefix = self.branch_prefix(regexes[i])
            if prefix is not None:
                lines.append((base[:i] + [prefix] + base[i + 1:], "alternation-suffix"))
        lines.append((["/tmp/evil/" + os.path.basename(base[0])] + base[1:], "other-path"))
        if chaining:
            chained = []
            for leaf in self.leaf_lines(f.run_as):
                chained.append((base + leaf, "chain"))
                chained.append((base + ["/tmp/evil/" + os.path.basename(leaf[0])] + leaf[1:], "chain-path"))
            chained.append((base, "chain-empty"))
            lines = lines + chained
        return lines

    def leaf_lines(self, run_as):
        """Command lines oslo allows through filters of this user that
        do not chain: what a chain may run."""
        found = []
        for g, argv in self.leaves.get(run_as, []):
            if len(found) >= 4:
                break
            if not any(argv[0] == other[0] for other in found):
                found.append(argv)
        return found

    def lines(self, f):
        cls = type(f).__name__
        name = os.path.basename(f.exec_path)
        if cls == "CommandFilter":
            return [
                ([name], "match"),
                ([name, "--probe", "/etc/shadow"], "match"),
                ([f.exec_path, "a"], "exact-path"),
                (["/tmp/evil/" + name, "a"], "other-path"),
                ([name + "2"], "near-name"),
                (["env", "X=1", name], "env-prefix"),
            ]
        if cls == "RegExpFilter":
            return self.regex_lines(f, False)
        if cls == "ChainingRegExpFilter":
            return self.regex_lines(f, True)
        if cls == "PathFilter":
            return self.path_lines(f, name)
        if cls == "KillFilter":
            return self.kill_lines(f)
        if cls == "ReadFileFilter":
            return [
                (["cat", f.file_path], "match"),
                (["cat", f.file_path, "/etc/shadow"], "arity-long"),
                (["/bin/cat", f.file_path], "exact-path"),
                (["cat", "/etc/shadow"], "other-file"),
                (["cat", f.file_path + "\n"], "newline"),
            ]
        if cls == "IpFilter":
            return [
                (["ip", "link", "show"], "match"),
                (["ip"], "match"),
                (["ip", "-s", "-s", "link"], "match"),
                (["ip", "netns", "add", "qrouter-1"], "match"),
                (["ip", "-batch", "/tmp/cmds"], "ip-batch"),
                (["ip", "-b", "/tmp/cmds"], "ip-batch"),
                (["ip", "-force", "link"], "ip-force"),
                (["ip", "netns", "exec", "x", "sh"], "netns-exec"),
                (["ip", "net", "e", "x", "sh"], "netns-exec"),
                (["ip", "-s", "netns", "exec", "x", "sh"], "netns-exec"),
                (["ip", "vrf", "exec", "blue", "sh"], "vrf-exec"),
                (["ip", "netns", "add", "x", "netns", "exec", "y", "sh"], "netns-exec-late"),
                ([f.exec_path, "link"], "exact-path"),
                (["/tmp/evil/ip", "link"], "other-path"),
            ]
        if cls == "IpNetnsExecFilter":
            return self.netns_lines(f)
        if cls == "EnvFilter":
            return self.env_lines(f)
        return []

    def path_lines(self, f, name):
        base, kinds = [], []
        for c in f.args:
            if c == "pass":
                base.append("anything")
            elif os.path.isabs(c):
                root = c.rstrip("/")
                base.append(root + "/rootwrap-probe/x" if root else "/tmp/rootwrap-probe")
            else:
                base.append(c)
            kinds.append(c)
        lines = [([name] + base, "match"), ([f.exec_path] + base, "exact-path")]
        lines.append(([name] + base[:-1], "arity-short"))
        lines.append(([name] + base + ["extra"], "arity-long"))
        for i, c in enumerate(kinds):
            variants = []
            if c == "pass":
                variants = [("/etc/shadow", "pass-anything")]
            elif os.path.isabs(c):
                root = c.rstrip("/")
                if root:
                    variants = [
                        (root, "path-exact"),
                        (root + "2/x", "path-sibling"),
                        (root + "/../rootwrap-probe-outside", "dotdot"),
                        (root + "/a/../b", "path-dots-inside"),
                    ]
                else:
                    variants = [("/etc/../tmp/x", "path-dots-inside")]
            else:
                variants = [(c + "X", "suffix"), ("", "empty")]
            for value, kind in variants:
                lines.append(([name] + base[:i] + [value] + base[i + 1:], kind))
        return lines

    def kill_lines(self, f):
        pid, gone = self.sleep_pid, "999999999"
        signals = list(f.args[1:]) if len(f.args) > 1 else []
        lines = []
        for s in signals[:3]:
            lines.append((["kill", s, pid], "match"))
            lines.append((["kill", s, gone], "no-such-pid"))
        first = signals[0] if signals else "-9"
        lines += [
            (["kill", pid], "match" if not signals else "signal-missing"),
            (["kill", gone], "no-such-pid"),
            (["kill", "-ALRM", pid], "signal-other"),
            (["kill", "-s", "9", pid], "signal-form"),
            (["/bin/kill", first, pid], "exact-path"),
            (["kill", first, "+" + pid], "pid-syntax"),
            (["kill", first, " " + pid], "pid-syntax"),
            (["kill", first, "notapid"], "pid-syntax"),
            (["kill", first, self.other_pid], "other-process"),
        ]
        return lines

    def netns_lines(self, f):
        lines = [(["ip", "netns", "exec", "qrouter-1"], "chain-empty")]
        for leaf in self.leaf_lines(f.run_as):
            lines += [
                (["ip", "netns", "exec", "qrouter-1"] + leaf, "chain"),
                (["ip", "net", "e", "qrouter-1"] + leaf, "chain"),
                (["ip", "netns", "exec", "a/b"] + leaf, "netns-name"),
                (["ip", "netns", "exec", ".."] + leaf, "netns-name"),
                (["ip", "netns", "exec", "qrouter-1", "/tmp/evil/" + os.path.basename(leaf[0])] + leaf[1:], "chain-path"),
                (["ip", "-s", "netns", "exec", "qrouter-1"] + leaf, "netns-exec"),
                (["ip", "netns", "exec", "a", "ip", "netns", "exec", "b"] + leaf, "chain-nested"),
            ]
        return lines

    def env_lines(self, f):
        names = []
        for arg in f.args:
            if "=" not in arg:
                break
            name = arg.partition("=")[0]
            if name not in names:
                names.append(name)
        command = os.path.basename(f.exec_path)
        rest = ["a"] * max(0, len(f.args) - len(names) - 1)
        sets = [n + "=v" + str(i) for i, n in enumerate(names)]
        lines = [
            (["env"] + sets + [command] + rest, "match"),
            (sets + [command] + rest, "match"),
            (["env"] + sets[::-1] + [command] + rest + ["more"], "match"),
            (["env"] + sets + ["ZZ=1", command] + rest, "env-extra"),
            (["env"] + sets[:1] + sets + [command] + rest, "env-duplicate"),
            ([command] + rest, "env-missing"),
            (["env"] + [names[0] + "="] + sets[1:] + [command] + rest, "env-empty-value") if names else None,
            (["env"] + sets + ["/tmp/evil/" + command] + rest, "other-path"),
            (["env"] + sets + [f.exec_path] + rest, "exact-path"),
        ]
        if len(sets) > 1:
            lines.append((["env"] + sets[1:] + [command] + rest, "env-missing"))
        if rest:
            lines.append((["env"] + sets + [command] + rest[1:], "arity-short"))
        return [line for line in lines if line]

    # ------------------------------------------------------------ deciding

    def decide(self, argv):
        """oslo's decision, as match_filter and the CLI would take it."""
        userargs = list(argv)
        try:
            f = wrapper.match_filter(self.filters, userargs, self.exec_dirs)
        except wrapper.FilterMatchNotExecutable as e:
            return {"decision": "noexec", "filter": self.filters.index(e.match)}
        except wrapper.NoFilterMatched:
            return {"decision": "deny"}
        except Exception as e:  # noqa: BLE001 - oslo crashes: exit 1
            return {"decision": "error", "error": repr(e)}
        result = {
            "decision": "allow",
            "filter": self.filters.index(f),
            "command": f.get_command(userargs, self.exec_dirs),
            "run_as": f.run_as,
        }
        if isinstance(f, F.ChainingFilter):
            result["chain_at"] = len(argv) - len(f.exec_args(list(argv)))
            leaves = [g for g in self.filters if g.run_as == f.run_as and not isinstance(g, F.ChainingFilter)]
            try:
                leaf = wrapper.match_filter(leaves, f.exec_args(list(argv)), self.exec_dirs)
                result["leaf"] = self.filters.index(leaf)
            except Exception:  # noqa: BLE001
                pass
        return result

    def run(self):
        # Leaves first: what each user's non-chaining filters allow.
        for f in self.filters:
            if isinstance(f, F.ChainingFilter):
                continue
            for argv, kind in self.safe_lines(f):
                if kind != "match":
                    continue
                decided = self.decide(argv)
                if decided["decision"] == "allow" and self.filters[decided["filter"]] is f:
                    self.leaves.setdefault(f.run_as, []).append((f, argv))
                    break
        cases, seen = [], set()
        for index, f in enumerate(self.filters):
            for argv, kind in self.safe_lines(f)[:PER_FILTER]:
                key = tuple(argv)
                if not argv or key in seen:
                    continue
                seen.add(key)
                case = {"argv": argv, "probe": kind, "origin": index}
                case.update(self.decide(argv))
                alternative = self.respelled(argv, f)
                if alternative:
                    case["alt"] = dict(argv=alternative, **self.decide(alternative))
                cases.append(case)
        return cases

    def safe_lines(self, f):
        try:
            return self.lines(f)
        except Exception as e:  # noqa: BLE001 - a generator bug must not hide the rest
            sys.stderr.write("driver: cannot generate for %s: %r\n" % (f.name, e))
            return []

    def respelled(self, argv, f):
        """The same command line with the command spelled the other way
        (base name or full path), to check that accepting the other
        spelling runs the same program."""
        first = argv[0]
        if "/" in first:
            return [os.path.basename(first)] + argv[1:]
        exec_path = getattr(f, "exec_path", "")
        if os.path.isabs(exec_path) and os.path.basename(exec_path) == first:
            return [exec_path] + argv[1:]
        return None


def top_level_alternatives(regex):
    """`A|B|C` split at the `|` outside groups and classes."""
    parts, depth, escaped, start = [], 0, False, 0
    class_open = None  # where the current character class starts
    for i, ch in enumerate(regex):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif class_open is not None:
            # A `]` right after `[` or `[^` is a literal.
            first = class_open + (2 if regex[class_open + 1:class_open + 2] == "^" else 1)
            if ch == "]" and i > first:
                class_open = None
        elif ch == "[":
            class_open = i
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(regex[start:i])
            start = i + 1
    parts.append(regex[start:])
    return parts


def describe(f, builtin):
    return {
        "name": f.name,
        "class": type(f).__name__,
        "run_as": f.run_as,
        "exec_path": f.exec_path,
        "builtin": builtin,
    }


def main():
    request = json.load(sys.stdin)
    exec_dirs = request["exec_dirs"]
    # KillFilter checks a bare target name against rootwrap's own $PATH,
    # which sudo sets to its secure_path: the importer's default exec dirs.
    os.environ["PATH"] = ":".join(exec_dirs)
    import importlib.metadata

    out = {
        "oslo_rootwrap": importlib.metadata.version("oslo.rootwrap"),
        "python": sys.version.split()[0],
        "files": [],
    }
    for path in request["files"]:
        directory = tempfile.mkdtemp(prefix="oslo-diff-")
        try:
            shutil.copy(path, os.path.join(directory, "under-test.filters"))
            filters = wrapper.load_filters([directory])
        finally:
            shutil.rmtree(directory)
        generator = Generator(filters, exec_dirs, request["sleep_pid"], request["other_pid"])
        out["files"].append(
            {
                "path": path,
                "filters": [describe(f, i == len(filters) - 1) for i, f in enumerate(filters)],
                "cases": generator.run(),
            }
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

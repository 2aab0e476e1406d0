#!/usr/bin/python3
"""Code rules for src/, tunnel/, bluetooth/ (ctest label lint; docs/SECURITY.md "Code rules").

  forbidden   no strcpy, strcat, sprintf, vsprintf, gets, rand, srand, random, strtok, alloca,
              tmpnam, mktemp, atoi, atol (unbounded writes, weak randomness, hidden state, UB)
  ct-compare  no memcmp/strcmp/bcmp/strncmp on tags, MACs, digests, PSKs, secrets, signatures,
              hashes, EIDs, nonces or challenges: cable_ct_equal (CRYPTO_memcmp)
  wipe        a local array named like a secret (secret, psk, seed, priv, shared, traffic, ikm,
              prk, okm, key without pub/id) is wiped (cable_wipe/OPENSSL_cleanse/explicit_bzero)
              in the function that declares it
  bounded     a function that adds to a queue or list (*_push, *_enqueue, *_append) compares
              against a limit (max/cap/limit/full) before adding
Exceptions live in tests/lint/allow.txt, one per line: RULE PATH SUBSTRING-OF-THE-LINE -- reason.
Usage: check-rules.py SOURCE_DIR; prints each violation as PATH:LINE: RULE: text; exit 1 if any.
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
DIRS = ["src", "tunnel", "bluetooth"]

FORBIDDEN = re.compile(r"(?<![\w>.])(strcpy|strcat|sprintf|vsprintf|gets|rand|srand|random|strtok|alloca|"
                       r"tmpnam|mktemp|atoi|atol)\s*\(")
SECRETISH = r"(tag|mac\b|hmac|digest|psk|secret|signature|hash|eid|nonce|challenge)"
CT = re.compile(r"\b(memcmp|strcmp|bcmp|strncmp)\s*\([^;]*" + SECRETISH, re.I)
SECRET_ARRAY = re.compile(r"^\s*(?:static\s+)?(?:const\s+)?(?:uint8_t|unsigned char|char)\s+([^;=]*\[[^;]*)")
SECRET_NAME = re.compile(r"^(?!.*(pub|_id|id_|public|keyid|key_len|hash))"
                         r"(.*(secret|psk|seed|priv|shared|traffic|ikm|prk|okm)|(.*_)?key(s)?(_.*)?)$", re.I)
WIPE = r"(cable_wipe|OPENSSL_cleanse|explicit_bzero)\s*\(\s*&?\s*{name}\b"
QUEUE_FN = re.compile(r"^[a-z_0-9]+(_push|_enqueue|_append)\s*\(")
LIMIT = re.compile(r"\b\w*(max|cap|limit|full|MAX|CAP|LIMIT)\w*\b")


def load_allow():
    allow = []
    path = os.path.join(root, "tests/lint/allow.txt")
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(\S+)\s+(\S+)\s+(.*?)\s+--\s+(.+)$", line)
        if not m:
            sys.exit("allow.txt: malformed line (RULE PATH SUBSTRING -- reason): " + line)
        allow.append([m.group(1), m.group(2), m.group(3), False])
    return allow


def strip_comments(text):
    # Keep line structure: comments and string literals become spaces.
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
    text = re.sub(r"//[^\n]*", blank, text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', text)
    return text


def functions(lines):
    """(name, start, end) of each top-level function body, by brace depth."""
    depth, start, name = 0, None, None
    for i, line in enumerate(lines):
        if depth == 0:
            m = re.match(r"^([a-z_A-Z][\w]*)\s*\(", line)
            if m:
                name = m.group(1)
        for ch in line:
            if ch == "{":
                if depth == 0:
                    start = i
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0 and start is not None:
                    yield name, start, i
                    start = None


violations = []
allow = load_allow()


def report(path, lineno, rule, text):
    for a in allow:
        if a[0] == rule and a[1] == path and a[2] in text:
            a[3] = True
            return
    violations.append("%s:%d: %s: %s" % (path, lineno + 1, rule, text.strip()))


for d in DIRS:
    for dirpath, _, files in os.walk(os.path.join(root, d)):
        for f in sorted(files):
            if not f.endswith(".c"):
                continue
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, root)
            raw = open(full, encoding="utf-8", errors="replace").read().split("\n")
            lines = strip_comments("\n".join(raw)).split("\n")
            for i, line in enumerate(lines):
                if FORBIDDEN.search(line):
                    report(rel, i, "forbidden", raw[i])
                if CT.search(line):
                    report(rel, i, "ct-compare", raw[i])
            for name, s, e in functions(lines):
                if name is None:
                    continue  # a struct or initialiser at file scope, not a function
                body = "\n".join(lines[s:e + 1])
                for i in range(s, e + 1):
                    m = SECRET_ARRAY.match(lines[i])
                    if not m:
                        continue
                    for decl in m.group(1).split(","):
                        v = re.match(r"\s*\**\s*(\w+)\s*\[", decl)
                        if not v or not SECRET_NAME.match(v.group(1)):
                            continue
                        if not re.search(WIPE.format(name=re.escape(v.group(1))), body):
                            report(rel, i, "wipe", "%s: %s in %s()" % (raw[i].strip(), v.group(1), name))
                if name and QUEUE_FN.match(name + "(") and not LIMIT.search(body):
                    report(rel, s, "bounded", "%s() adds without a limit" % name)

for v in violations:
    print(v)
stale = [a for a in allow if not a[3]]
for a in stale:
    print("allow.txt: stale exception (no longer matches): %s %s %s" % (a[0], a[1], a[2]))
print("lint: %d violation(s), %d stale exception(s)" % (len(violations), len(stale)))
sys.exit(1 if violations or stale else 0)

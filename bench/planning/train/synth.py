"""Whole requests with their gold plans, generated in seven languages (round 10).

``lang/*.py`` phrases one job at a time; this composes whole requests from them, each with the
plan it should get, in the benchmark's own format (``bench.planning.score.Expected``): jobs
that stand alone (a template that names its own subject), jobs that read the step before
(``synth_phrases.PHRASES[lang]["ref"]``: "it", "that", "the result", "whatever comes back"),
joined as a chain ("then", "and then", ". After that,", a new line), a fan-out (one source and
several jobs on its result after "with the result:", one job over three languages), a list of
parallel jobs (bullets, numbers, letters, bare lines, inline "1) ... 2) ..." or "and"), pasted
data (CSV, JSON, a text, an email) attached to the step that reads it, remarks and negations
that add no step ("don't translate it", "keep it short"), small talk (the writer answers it)
and actions nobody serves, alone or beside a job.

Seeded: ``generate(n, seed)`` gives the same requests every run. Two uses, each judged by the
real dev batches held out (bench/planning/README.md, "Round 10: synthetic requests"): a stress
test (``python -m bench.planning.train.synth``: the planner on the generated requests, by kind
and language), and extra training data for the edge model (``train.edges --synth N``) and the
intent model (``train --synth N``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from bench.planning.score import Expected
from bench.planning.train.data import _ARTICLES, LANGS, module
from bench.planning.train.synth_phrases import PHRASES

SEED = 10
# Kinds drawn, with their weights (the benchmark's kinds; fan-out, enumeration, single and
# inline text weigh most: the weakest on unseen requests).
KINDS: dict[str, int] = {
    "single": 3,
    "chain": 3,
    "fan-out": 4,
    "enumeration": 4,
    "reference": 2,
    "inline-csv": 2,
    "inline-json": 1,
    "inline-text": 3,
    "negation": 2,
    "unservable": 1,
    "partly-servable": 1,
    "smalltalk": 1,
}
# Capabilities whose output is text another step can read.
TEXT_OUT = ("search", "text_generation", "summarization", "translation", "data_analysis")
# Frames that open with a join ("then {x}", "und {x}"): not for the first job of a request.
_JOIN_FRAME = re.compile(
    r"^(?:also|and|then|now|y|luego|después|ahora|también|et|puis|ensuite|aussi|maintenant|und|"
    r"dann|danach|jetzt|außerdem|zum|e|depois|agora|também|poi|dopo|ora|anche|en|daarna|dan|nu|"
    r"ook|tot|quickly|em|nun|adesso|agora|ora|infine|finalmente|schließlich|enfin|dunque)\b",
    re.I,
)
_SLOT = re.compile(r"\{(\w)\}")
_QUOTES = ('"{}"', "\u201c{}\u201d", "'{}'", "\u00ab{}\u00bb")
_ITEMS = ("apples", "pears", "plums", "cherries", "lemons", "figs")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


@dataclass(frozen=True)
class Job:
    """One step: its text, its capability, the 0-based steps it reads."""

    text: str
    cap: str
    reads: tuple[int, ...] = ()
    data: bool = False


@dataclass
class Synth:
    """A generated request and its gold plan."""

    id: str
    kind: str
    lang: str
    request: str
    expect: list[str]
    data: int | None = None  # 1-based task that carries the pasted table
    extra: dict[str, Any] = field(default_factory=dict)

    def item(self) -> dict[str, Any]:
        """As a benchmark file writes it (``Expected.parse`` reads it)."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "lang": self.lang,
            "request": self.request,
            "expect": self.expect,
        }
        if self.data is not None:
            out["data"] = self.data
        return out

    def expected(self) -> Expected:
        return Expected.parse(self.item(), "synth")


def _spec(jobs: list[Job]) -> list[str]:
    return [
        j.cap + (" <- " + ",".join(str(r + 1) for r in j.reads) if j.reads else "") for j in jobs
    ]


class _Gen:
    def __init__(self, lang: str, rng: random.Random) -> None:
        self.lang = lang
        self.rng = rng
        self.m: ModuleType = module(lang)
        self.p: dict[str, Any] = PHRASES[lang]

    # -- slots -----------------------------------------------------------------------------

    def _fill(self, template: str) -> str:
        rng, m = self.rng, self.m
        values = {
            "t": rng.choice(m.TOPICS),
            "q": rng.choice(_QUOTES).format(rng.choice(m.QUOTES)),
            "l": rng.choice(m.LANGS),
            "a": rng.choice(getattr(m, "LANG_ADJ", m.LANGS)),
            "w": rng.choice(m.WHO),
            "d": "{d}",
            "p": "{p}",
        }
        return template.format(**values)

    def csv(self) -> str:
        rng = self.rng
        head = rng.choice(["item,price,sold", "day,visits,signups", "name,score"])
        cols = head.count(",")
        names = _DAYS if head.startswith("day") else _ITEMS
        rows = [
            ",".join([names[k], *(str(rng.randint(1, 400)) for _ in range(cols))])
            for k in range(rng.randint(3, 6))
        ]
        return "\n".join([head, *rows])

    def json(self) -> str:
        rng = self.rng
        rows = [
            {"name": name, "value": rng.randint(1, 90)}
            for name in rng.sample(list(_ITEMS), rng.randint(2, 4))
        ]
        return json.dumps(rows, indent=rng.choice([None, 2]), ensure_ascii=False)

    def text(self) -> str:
        body = str(self.rng.choice(self.p["texts"]))
        r = self.rng.random()
        if r < 0.3:
            return self.rng.choice(_QUOTES).format(body)
        return body

    def paste(self, text: str, body: str) -> str:
        """``text`` with its ``{p}`` / ``{d}`` slot replaced by ``body``."""
        seps = [":\n", "\n", ":\n\n"] if "\n" in body else [": ", ":\n", "\n\n"]
        if text.split("{")[0].rstrip().endswith(("?", ":")):
            seps = ["\n", "\n\n", " "]
        sep = self.rng.choice(seps)
        return re.sub(r"\s*\{[pd]\}", lambda _: sep + body, text, count=1)

    # -- jobs ------------------------------------------------------------------------------

    def templates(self, cap: str, slots: str) -> list[str]:
        """Templates of ``cap`` with a slot of ``slots`` and none of pasted material unless
        asked for (``slots`` "p" or "d")."""
        out = []
        for t in self.m.TEMPLATES.get(cap, []):
            found = set(_SLOT.findall(t))
            if not found & set(slots):
                continue
            if found & {"p", "d"} and not found & set(slots) & {"p", "d"}:
                continue
            out.append(t)
        return out

    def plain(self, cap: str) -> list[str]:
        """Templates with no slot at all (actions, remarks)."""
        return [t for t in self.m.TEMPLATES.get(cap, []) if not _SLOT.search(t)]

    def source(self, caps: tuple[str, ...]) -> Job:
        """A job that stands alone, of one of ``caps``."""
        cap = self.rng.choice([c for c in caps if self.templates(c, "tq")])
        return Job(self._fill(self.rng.choice(self.templates(cap, "tq"))), cap)

    def frame(self, text: str, first: bool, suffix: bool = True) -> str:
        """``text`` in a frame ("can you ...?", "necesito ...") half the time; none on a
        question; ``suffix`` False: only frames that end with the job (pasted material
        follows)."""
        if self.rng.random() < 0.5 or "?" in text or text.startswith("\u00bf"):
            return text
        np = text.split(" ", 1)[0].lower() in _ARTICLES
        frames = [
            f
            for f in (self.m.NP_FRAMES if np else self.m.FRAMES)
            if not (first and _JOIN_FRAME.match(f)) and (suffix or f.endswith("{x}"))
        ]
        return str(self.rng.choice(frames)).format(x=text) if frames else text

    def ref(self, cap: str, reads: int) -> Job:
        text = self._fill(self.rng.choice(self.p["ref"][cap]))
        return Job(text, cap, (reads,))

    def consumer_caps(self, producer: str) -> list[str]:
        if producer not in TEXT_OUT:
            return []
        caps = ["summarization", "translation", "image_generation", "text_generation"]
        if producer == "text_generation":
            caps.append("lora_training")
        if producer == "summarization":
            caps.remove("summarization")
        return caps

    # -- requests --------------------------------------------------------------------------

    def join(self, parts: list[str], joins: list[str]) -> str:
        out = parts[0]
        for part, j in zip(parts[1:], joins, strict=True):
            if out.rstrip().endswith(("?", "!")) and j.strip() in (".", ",", ";"):
                j = " "
            if j.rstrip(" ").endswith((".", "\n", ":")):
                part = part[:1].upper() + part[1:]
            out += j + part
        return out

    def single(self) -> tuple[list[Job], str]:
        job = self.source(("search", "text_generation", "image_generation", "translation"))
        return [job], self.frame(job.text, True)

    def chain(self, refs: int = 0) -> tuple[list[Job], str]:
        first = self.source(("search", "text_generation", "translation"))
        jobs = [first]
        for _ in range(refs or self.rng.choice([1, 1, 2])):
            caps = self.consumer_caps(jobs[-1].cap)
            if not caps:
                break
            jobs.append(self.ref(self.rng.choice(caps), len(jobs) - 1))
        joins = [self.rng.choice(self.p["then"]) for _ in jobs[1:]]
        return jobs, self.join([self.frame(first.text, True), *(j.text for j in jobs[1:])], joins)

    def fan_out(self) -> tuple[list[Job], str]:
        r = self.rng.random()
        if r < 0.35:  # one job over three languages, on a quotation
            src = [t for t in self.templates("translation", "q") if "{l}" in t]
            langs = self.rng.sample(list(self.m.LANGS), 3)
            listed = self.rng.choice(self.p["langs3"]).format(a=langs[0], b=langs[1], c=langs[2])
            text = self.rng.choice(src).replace("{l}", listed)
            jobs = [Job(self._fill(text), "translation") for _ in range(3)]
            return jobs, self.frame(jobs[0].text, True)
        first = self.source(("search", "text_generation"))
        if r < 0.6:  # the source's result into three languages
            langs = self.rng.sample(list(self.m.LANGS), 3)
            listed = self.rng.choice(self.p["langs3"]).format(a=langs[0], b=langs[1], c=langs[2])
            ask = self.rng.choice(self.p["ref"]["translation"]).replace("{l}", listed)
            jobs = [first, *(Job(ask, "translation", (0,)) for _ in range(3))]
            then = self.rng.choice(self.p["then"])
            return jobs, self.join([self.frame(first.text, True), ask], [then])
        caps = self.rng.sample(self.consumer_caps(first.cap), self.rng.choice([2, 2, 3]))
        kids = [self.ref(c, 0) for c in caps]
        head = self.rng.choice(self.p["heads"])
        body = kids[0].text
        for kid in kids[1:]:
            body += self.rng.choice(self.p["and"][:2]) + kid.text
        lead = self.frame(first.text, True)
        sep = self.rng.choice([". ", "\n", ". "])
        if lead.endswith("?"):
            sep = sep.strip(".") or " "
        return [first, *kids], lead + sep + head + body

    def enumeration(self) -> tuple[list[Job], str]:
        caps = ("search", "text_generation", "image_generation", "translation", "lora_training")
        jobs = [self.source(caps) for _ in range(self.rng.choice([2, 3, 3, 4]))]
        texts = [self.frame(j.text, True) if k == 0 else j.text for k, j in enumerate(jobs)]
        style = self.rng.choice(["bullet", "number", "letter", "bare", "inline", "and"])
        intro = str(self.rng.choice(self.p["intro"]))
        if style == "and":
            joins = [self.rng.choice(self.p["and"]) for _ in texts[1:]]
            return jobs, self.join(texts, joins)
        if style == "inline":
            body = " ".join(f"{k + 1}) {t}" for k, t in enumerate(texts))
            return jobs, (intro + " " + body).strip()
        marks = {
            "bullet": lambda k: self.rng.choice(["- ", "* ", "\u2022 "]),
            "number": lambda k: f"{k + 1}. ",
            "letter": lambda k: f"{'abcd'[k]}) ",
            "bare": lambda k: "",
        }[style]
        lines = [marks(k) + t[:1].upper() + t[1:] for k, t in enumerate(texts)]
        return jobs, "\n".join([intro, *lines] if intro else lines)

    def reference(self) -> tuple[list[Job], str]:
        """A source, a remark, then a job that names the source's result."""
        first = self.source(("search", "text_generation"))
        cap = self.rng.choice(self.consumer_caps(first.cap))
        later = self.ref(cap, 0)
        remark = self.rng.choice(self.plain("none"))
        text = self.join(
            [self.frame(first.text, True), remark, later.text],
            [self.rng.choice([". ", ", "]), self.rng.choice(self.p["then"])],
        )
        return [first, later], text

    def inline_data(self, kind: str) -> tuple[list[Job], str]:
        ask = self.rng.choice(self.templates("data_analysis", "d"))
        body = self.csv() if kind == "inline-csv" else self.json()
        jobs = [Job(self._fill(ask), "data_analysis", data=True)]
        text = self.paste(self.frame(jobs[0].text, True, False), body)
        if self.rng.random() < 0.5:
            cap = self.rng.choice(["summarization", "translation", "text_generation"])
            jobs.append(self.ref(cap, 0))
            text += "\n" + jobs[-1].text[:1].upper() + jobs[-1].text[1:]
        return jobs, text

    def inline_text(self) -> tuple[list[Job], str]:
        cap = self.rng.choice(["summarization", "translation", "text_generation"])
        options = self.templates(cap, "p")
        if not options:
            cap, options = "summarization", self.templates("summarization", "p")
        jobs = [Job(self._fill(self.rng.choice(options)), cap)]
        text = self.paste(self.frame(jobs[0].text, True, False), self.text())
        if self.rng.random() < 0.4:
            caps = [c for c in self.consumer_caps(cap) if c != "lora_training"]
            jobs.append(self.ref(self.rng.choice(caps), 0))
            text += "\n" + jobs[-1].text[:1].upper() + jobs[-1].text[1:]
        return jobs, text

    def negation(self) -> tuple[list[Job], str]:
        jobs, text = self.single() if self.rng.random() < 0.6 else self.chain(1)
        remark = self.rng.choice(self.plain("none"))
        sep = self.rng.choice([". ", ", ", " - ", "\n"])
        if sep in (". ", "\n"):
            remark = remark[:1].upper() + remark[1:]
        return jobs, text + sep + remark

    def unservable(self) -> tuple[list[Job], str]:
        return [], self.frame(self.rng.choice(self.plain("action")), True)

    def partly(self) -> tuple[list[Job], str]:
        job = self.source(("search", "text_generation"))
        action = self.rng.choice(self.plain("action"))
        join = self.rng.choice(self.p["then"])
        return [job], self.join([self.frame(job.text, True), action], [join])

    def smalltalk(self) -> tuple[list[Job], str]:
        return [Job(self.rng.choice(self.p["small"]), "text_generation")], ""

    def make(self, kind: str) -> tuple[list[Job], str]:
        makers: dict[str, Callable[[], tuple[list[Job], str]]] = {
            "single": self.single,
            "chain": self.chain,
            "fan-out": self.fan_out,
            "enumeration": self.enumeration,
            "reference": self.reference,
            "inline-csv": lambda: self.inline_data("inline-csv"),
            "inline-json": lambda: self.inline_data("inline-json"),
            "inline-text": self.inline_text,
            "negation": self.negation,
            "unservable": self.unservable,
            "partly-servable": self.partly,
            "smalltalk": self.smalltalk,
        }
        jobs, text = makers[kind]()
        if kind == "smalltalk":
            text = jobs[0].text
        return jobs, text


def _surface(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        text = text[:1].upper() + text[1:]
    if not text.rstrip().endswith(("?", "!", ".", ":")) and rng.random() < 0.4:
        text = text.rstrip() + rng.choice([".", "!"])
    return text


def generate(n: int, seed: int = SEED, langs: tuple[str, ...] = LANGS) -> list[Synth]:
    """``n`` requests, the languages in turn, each kind drawn by ``KINDS``' weights."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    weights = [KINDS[k] for k in kinds]
    out = []
    for k in range(n):
        lang = langs[k % len(langs)]
        kind = rng.choices(kinds, weights)[0]
        jobs, text = _Gen(lang, rng).make(kind)
        data = next((i + 1 for i, j in enumerate(jobs) if j.data), None)
        out.append(
            Synth(f"syn-{k}-{lang}-{kind}", kind, lang, _surface(text, rng), _spec(jobs), data)
        )
    return out


def expected(n: int, seed: int = SEED) -> list[Expected]:
    return [s.expected() for s in generate(n, seed)]


def main(argv: list[str] | None = None) -> int:
    """The stress test: plan ``n`` generated requests, print the scores by kind and language
    and (``--show K``) up to K failures of each kind."""
    import asyncio

    from bench.planning.__main__ import load_manifest, run_planner
    from bench.planning.score import summarize
    from mesh_orchestrator.planning.intent import IntentPlanner

    ap = argparse.ArgumentParser(prog="python -m bench.planning.train.synth")
    ap.add_argument("-n", type=int, default=1400)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--show", type=int, default=0, help="failures shown per kind")
    ap.add_argument("--kind", default=None, help="only this kind")
    ap.add_argument("--lang", default=None, help="only this language")
    ap.add_argument("--dump", action="store_true", help="print the requests, plan nothing")
    args = ap.parse_args(argv)
    reqs = [
        s
        for s in generate(args.n, args.seed)
        if (args.kind is None or s.kind == args.kind) and (args.lang is None or s.lang == args.lang)
    ]
    if args.dump:
        for s in reqs:
            print(json.dumps(s.item(), ensure_ascii=False))
        return 0
    manifest = load_manifest()
    exp = [s.expected() for s in reqs]
    outcomes = asyncio.run(run_planner(IntentPlanner(), manifest, exp))
    groups: dict[str, list[Any]] = defaultdict(list)
    for o in outcomes:
        groups[f"kind {o.kind}"].append(o)
        groups[f"lang {o.lang}"].append(o)
        groups["all"].append(o)
    for name in sorted(groups):
        s = summarize(groups[name])
        print(
            f"{name:24}{len(groups[name]):>6}  node {s['node_f1']:.3f}  edge {s['edge_f1']:.3f}"
            f"  exact {s['exact_rate']:.1%}"
        )
    if args.show:
        shown: Counter[str] = Counter()
        by_id = {s.id: s for s in reqs}
        for o in outcomes:
            if o.exact or shown[o.kind] >= args.show:
                continue
            shown[o.kind] += 1
            print(f"\n[{o.kind} {o.lang}] {by_id[o.id].request!r}")
            got = o.got
            if o.plan:
                ids = {t["task_id"]: k + 1 for k, t in enumerate(o.plan["tasks"])}
                got = [
                    t["capability"]
                    + (
                        " <- " + ",".join(str(ids[d]) for d in t["depends_on"] if d in ids)
                        if t["depends_on"]
                        else ""
                    )
                    for t in o.plan["tasks"]
                ]
            print(f"  expected {o.expected}\n  got      {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

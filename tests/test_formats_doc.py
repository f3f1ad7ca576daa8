"""docs/formats.md is true of the code: every example block is checked, independently.

Each fenced block whose info string starts with ``example`` (convention: docs/formats.md,
"Example blocks") holds a ``prompt:``, ``completion:`` (both JSON strings) and ``answer:`` line.
For each block:

* the task's own ``parse_answer`` reads the stated answer back from the completion;
* the answer, and for every format here the whole completion (one space, then its tokens), is
  recomputed from the prompt
  alone by the rules the doc states (parity of the bits, the sum of the operands, the walk and
  the breadth-first search on the edges, …), written in this file, not taken from the code;
* a real row (``config=… split=…``) has the layout of a freshly generated row of that config
  and split (same tokens, any digit standing for any digit, any letter for any letter, any
  vertex name for any vertex name);
* a hand example (``hand``) is rebuilt by the generator from its instance and must be equal.

The repository never refers to the task notes outside it (checked on the git-tracked files).
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hf_reasoning import build_config
from hf_reasoning.tasks import Instances, get_task
from hf_reasoning.tasks.base import Group, group_table

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "formats.md"
BLOCK = re.compile(r"^```example([^\n]*)\n(.*?)^```", re.S | re.M)


def parse_blocks(text: str) -> list[dict]:
    blocks = []
    for header, body in BLOCK.findall(text):
        words = header.split()
        block = {"hand": "hand" in words, **dict(w.split("=", 1) for w in words if "=" in w)}
        for line in body.strip().splitlines():
            key, _, value = line.partition(": ")
            # the texts are JSON strings, so the completion's leading space shows
            block[key] = json.loads(value) if key in ("prompt", "completion") else value.strip()
        assert {"task", "prompt", "completion", "answer"} <= set(block), f"incomplete example block: {block}"
        block["fmt"] = block["config"].rpartition("-")[2] if "config" in block else block["format"]
        blocks.append(block)
    return blocks


BLOCKS = parse_blocks(DOC.read_text(encoding="utf-8"))


def block_id(block: dict) -> str:
    where = block.get("config", block["fmt"] + "-hand")
    return f"{block['task']}/{where}/{block.get('split', '')}/{block['prompt'][:12]}"


# -- independent references, written from docs/formats.md --------------------------------------

def digits_of(tokens) -> list[int]:
    return [int(t) for t in tokens]


def parity_completion(fmt: str, prompt: list[str], config: str) -> tuple[str, str]:
    slots = prompt[:-1]
    bits = [int(t) for t in slots if t != "_"]
    n = len(bits) // 2 if config.startswith("half_") else len(bits)
    running = list(np.cumsum(bits[:n]) % 2)
    answer = str(running[-1])
    if fmt == "plain":
        return f"{answer} .", answer
    if fmt == "scratchpad":
        return " ".join(map(str, running)) + " .", answer
    positions = [i for i, t in enumerate(slots) if t != "_"]
    states = [f"[ {p // 10} {p % 10} ] {b} , {r}" for p, b, r in zip(positions, bits, running)]
    D = len(slots)
    states.append(f"[ {D // 10} {D % 10} ] _ , {answer}")
    return ": " + " # ".join(states) + " .", answer


def sum_digits(a: list[int], b: list[int]) -> list[int]:
    s = len(a)
    total = int("".join(map(str, a))) + int("".join(map(str, b)))
    return [int(c) for c in str(total).zfill(s + 1)]


def addition_completion(fmt: str, prompt: list[str], params: dict) -> tuple[str, str]:
    if fmt == "shift":
        return shift_completion(prompt, int(params["W"]))
    if fmt == "inductive":
        return random_space_completion(prompt)
    plus, equals = prompt.index("+"), prompt.index("=")
    left, right = prompt[:plus], prompt[plus + 1: equals]
    if "index_hints" in fmt:
        hints = left[0::2]
        a, b = digits_of(left[1::2])[1:], digits_of(right[1::2])[1:]  # drop the zero padding
        assert hints == right[0::2] and left[1] == right[1] == "0"
        result = sum_digits(a, b)
        pairs = [f"{h} {d}" for h, d in zip(hints, result)]
        if fmt.startswith("reversed"):
            pairs = pairs[::-1]
        return " ".join(pairs) + " .", "".join(map(str, result))
    a, b = digits_of(left), digits_of(right)
    result = sum_digits(a, b)
    answer = "".join(map(str, result))
    if fmt == "plain":
        return " ".join(map(str, result)) + " .", answer
    if fmt == "reversed":
        return " ".join(map(str, result[::-1])) + " .", answer
    assert fmt == "scratchpad"
    steps, carry = [], 0
    for da, db in zip(a[::-1], b[::-1]):
        steps.append(f"{da} {db} {carry} {(da + db + carry) % 10} ;")
        carry = (da + db + carry) // 10
    return " ".join(steps) + " " + " ".join(map(str, result)) + " .", answer


def random_space_completion(prompt: list[str]) -> tuple[str, str]:
    equals = prompt.index("=")
    slots, register = prompt[:equals], prompt[equals + 1:]
    L = slots.index("+")
    assert len(slots) == 2 * L + 1 and register[0] == "$" and len(register) == L + 2
    pa = [i for i in range(L) if slots[i] != "_"][::-1]  # least significant first
    pb = [i for i in range(L + 1, 2 * L + 1) if slots[i] != "_"][::-1]
    a = [int(slots[i]) for i in pa]
    b = [int(slots[i]) for i in pb]
    produced, carry, states = [], 0, []
    two = lambda p: f"{p // 10} {p % 10}"  # noqa: E731
    for i in range(len(a)):
        digit = (a[i] + b[i] + carry) % 10
        carry = (a[i] + b[i] + carry) // 10
        produced.insert(0, str(digit))
        reg = (produced + register)[: L + 2]
        states.append(f"[ {two(pa[i])} ] {a[i]} [ {two(pb[i])} ] {b[i]} c {carry} r " + " ".join(reg))
    produced.insert(0, str(carry))
    reg = (produced + register)[: L + 2]
    states.append(f"[ - 1 ] _ [ {two(L)} ] _ c 0 r " + " ".join(reg))
    return ": " + " # ".join(states) + " .", "".join(produced)


def shift_completion(prompt: list[str], W: int) -> tuple[str, str]:
    """The fixed-width shift layout: [a block W+1] + [b block W+1] = [register W+2] | carry."""
    assert len(prompt) == 3 * W + 8, "a shift state has 3W + 8 tokens"
    block_a, block_b = prompt[: W + 1], prompt[W + 2: 2 * W + 3]
    assert prompt[W + 1] == "+" and prompt[2 * W + 3] == "=" and prompt[-2:] == ["|", "0"]
    register = prompt[2 * W + 4: 3 * W + 6]
    assert register[0] == "$" and all(len(t) == 1 and t.isalpha() for t in register[1:])
    a = digits_of(block_a[block_a.index("$") + 1:])
    b = digits_of(block_b[block_b.index("$") + 1:])
    assert all(t.isalpha() for t in block_a[: block_a.index("$")] + block_b[: block_b.index("$")])
    assert len(a) == len(b)
    rotate = lambda block: block[-1:] + block[:-1]  # noqa: E731
    produced, carry, states = [], 0, []
    for da, db in zip(a[::-1], b[::-1]):
        digit, carry = (da + db + carry) % 10, (da + db + carry) // 10
        produced.insert(0, str(digit))
        block_a, block_b = rotate(block_a), rotate(block_b)
        reg = (produced + register)[: W + 2]
        states.append(" ".join(block_a + ["+"] + block_b + ["="] + reg + ["|", str(carry)]))
    produced.insert(0, str(carry))
    states.append(" ".join((produced + register)[: W + 2]))
    return "# " + " # ".join(states) + " .", "".join(produced)


def multiplication_completion(fmt: str, prompt: list[str]) -> tuple[str, str]:
    times, equals = prompt.index("*"), prompt.index("=")
    left, right = prompt[:times], prompt[times + 1: equals]
    hinted = "index_hints" in fmt
    a_digits = left[1::2] if hinted else left
    b_digits = right[1::2] if hinted else right
    a, b = int("".join(a_digits)), int("".join(b_digits))
    s = len(str(a)) if not hinted else len(a_digits) // 2
    product = [int(c) for c in str(a * b).zfill(2 * s)]
    answer = "".join(map(str, product))
    if hinted:
        pairs = [f"{h} {d}" for h, d in zip(left[0::2], product)]
        return " ".join(pairs[::-1] if fmt.startswith("reversed") else pairs) + " .", answer
    if fmt == "plain":
        return " ".join(map(str, product)) + " .", answer
    if fmt == "reversed":
        return " ".join(map(str, product[::-1])) + " .", answer
    assert fmt == "inductive"
    states = []
    for p in range(s - 1, -1, -1):
        partial = a * int("".join(b_digits[p:]))
        states.append(f"[ {p // 10} {p % 10} ] {b_digits[p]} r " + " ".join(str(partial).zfill(2 * s)))
    return ": " + " # ".join(states) + " .", answer


def graph_of(prompt: list[str]):
    text = " ".join(prompt)
    edges = re.findall(r"(v\d{3}) > (v\d{3}) ;", text)
    src, dst = re.search(r"(v\d{3}) \? (v\d{3}) ;$", text).groups()
    return edges, src, dst


def cycles_completion(fmt: str, prompt: list[str]) -> tuple[str, str]:
    edges, src, dst = graph_of(prompt)
    successor = dict(edges)
    assert len(successor) == len(edges)  # every vertex has out-degree 1
    walk = [src]
    while True:
        walk.append(successor[walk[-1]])
        if walk[-1] in (dst, src):
            break
    label = "1" if walk[-1] == dst else "0"
    if fmt == "plain":
        return f"{label} .", label
    sep = " > " if fmt == "scratchpad" else " # "
    return (": " if fmt == "inductive" else "") + sep.join(walk) + f" ; {label} .", label


def implications_completion(fmt: str, prompt: list[str]) -> tuple[str, str]:
    edges, src, dst = graph_of(prompt)
    reached, layers = {src}, [[src]]
    while dst not in reached:
        new = sorted({v for u, v in edges if u in layers[-1]} - reached)
        if not new:
            break
        reached |= set(new)
        layers.append(new)
    label = "1" if dst in reached else "0"
    if fmt == "plain":
        return f"{label} .", label
    if fmt == "scratchpad":
        return " > ".join(" ".join(layer) for layer in layers) + f" ; {label} .", label
    sets = [sorted(set().union(*layers[: k + 1])) for k in range(len(layers))]
    return ": " + " # ".join(" ".join(s) for s in sets) + f" ; {label} .", label


def sequence_completion(task: str, fmt: str, prompt: list[str]) -> tuple[str, str]:
    body = prompt[:-1]
    hints, values = (body[0::2], body[1::2]) if fmt == "index_hints" else (None, body)
    numbers = [int(v) for v in values]
    if task == "count":
        out = list(range(numbers[0], numbers[1] + 1))
    elif task == "mode":
        counts = {v: numbers.count(v) for v in numbers}
        out = [min(v for v in counts if counts[v] == max(counts.values()))]
    elif task == "copy":
        out = numbers
    elif task == "reverse":
        out = numbers[::-1]
    else:
        out = sorted(numbers)
    answer = " ".join(map(str, out))
    if fmt == "index_hints":
        pairs = list(zip(hints, values))
        pairs = pairs[::-1] if task == "reverse" else pairs
        return " ".join(f"{h} {v}" for h, v in pairs) + " .", answer
    if fmt == "inductive":
        states, copies = [], {}
        for v in out:
            copies[v] = copies.get(v, 0) + 1
            states.append(f"{v} , {copies[v]}")
        return ": " + " # ".join(states) + " .", answer
    return answer + " .", answer


def label_completion(block: dict, prompt: list[str]) -> tuple[str, str]:
    task, config = block["task"], block.get("config", "")
    body = prompt[:-1]
    if task == "boolean_and":
        label = str(int(all(t == "1" for t in body)))
    elif task == "pvr":
        m, agg = re.match(r"m(\d+)_([a-z]+)", config).groups()
        p, values = int(body[0]), digits_of(body[1:])
        window = values[p: p + int(m) + 1]
        label = str({"sum": lambda w: sum(w) % 10, "min": min, "max": max,
                     "median": lambda w: sorted(w)[(len(w) - 1) // 2],
                     "majority": lambda w: min(w, key=lambda v: (-w.count(v), v))}[agg](window))
    elif task == "pvr_visual":
        pointer, cells = int(body[0]), body[1:]
        label = cells[0] if pointer <= 3 else cells[1] if pointer <= 6 else cells[2]
    elif task == "boolean" and config.startswith("gotu_x0x1"):
        x = [1 if t == "+" else -1 for t in body]
        label = str(x[0] * x[1])
    else:
        raise AssertionError(f"no independent reference for {task}/{config}: add one to this test")
    return f"{label} .", label


def reference(block: dict) -> tuple[str, str]:
    """(completion, answer) recomputed from the block's prompt by the doc's rules."""
    task, fmt, prompt = block["task"], block["fmt"], block["prompt"].split()
    if task == "parity":
        return parity_completion(fmt, prompt, block.get("config", ""))
    if task == "addition":
        width = block.get("width") or (shift_preset_width(block["config"]) if fmt == "shift" else None)
        return addition_completion(fmt, prompt, {"W": width})
    if task == "multiplication":
        return multiplication_completion(fmt, prompt)
    if task == "cycles":
        return cycles_completion(fmt, prompt)
    if task == "implications":
        return implications_completion(fmt, prompt)
    if task in ("count", "mode", "copy", "reverse", "sort"):
        return sequence_completion(task, fmt, prompt)
    return label_completion(block, prompt)


def shift_preset_width(config: str) -> int:
    """W of a shift preset, as the doc's preset table states it."""
    return {"abbe2024_shift": 30, "cpu_shift": 12}[config.rpartition("-")[0]]


# -- layouts of generated rows -------------------------------------------------------------

def skeleton(text: str) -> tuple[str, ...]:
    """Tokens with their content abstracted: any number, letter, vertex or hint stands for any."""
    out = []
    for token in text.split():
        if re.fullmatch(r"-?\d+(\.\d+)?", token):
            out.append("N")
        elif re.fullmatch(r"v\d{3}", token):
            out.append("V")
        elif re.fullmatch(r"h\d+", token):
            out.append("H")
        elif re.fullmatch(r"[a-z]", token):
            out.append("L")
        else:
            out.append(token)
    return tuple(out)


@functools.cache
def generated_skeletons(task: str, config: str, split: str) -> frozenset:
    table = build_config(task, config, "tiny", 0).tables[split]
    # implications' states have a variable number of vertices: compare the prompt only
    whole = task != "implications"
    return frozenset((skeleton(p), skeleton(c) if whole else None)
                     for p, c in zip(table.column("prompt").to_pylist(), table.column("completion").to_pylist()))


# -- hand examples rebuilt by the generator -----------------------------------------------------

def hand_rows(block: dict) -> tuple[str, str]:
    from hf_reasoning.tasks.addition import AdditionConfig

    task, fmt, prompt = get_task("addition"), block["fmt"], block["prompt"].split()
    letter = lambda tokens: np.array([[ord(t) - ord("a") for t in tokens]], dtype=np.int8)  # noqa: E731
    if fmt == "inductive":
        L = int(block["slots"])
        slots = prompt[: 2 * L + 1]
        pos_a = [i for i in range(L) if slots[i] != "_"]
        pos_b = [i for i in range(L + 1, 2 * L + 1) if slots[i] != "_"]
        s = len(pos_a)
        cfg = AdditionConfig(train_lengths=(s,), ood_lengths=(), slots_per_operand=L, formats=("inductive",))
        arrays = {"a": np.array([[int(slots[i]) for i in pos_a]], np.int8),
                  "b": np.array([[int(slots[i]) for i in pos_b]], np.int8),
                  "positions_a": np.array([pos_a], np.int16), "positions_b": np.array([pos_b], np.int16),
                  "fillers": letter(prompt[2 * L + 3:])}
    else:
        W = int(block["width"])
        block_a, block_b = prompt[: W + 1], prompt[W + 2: 2 * W + 3]
        a, b = block_a[block_a.index("$") + 1:], block_b[block_b.index("$") + 1:]
        s = len(a)
        cfg = AdditionConfig(train_lengths=(s,), ood_lengths=(W,), formats=("shift",))  # W = longest length
        fillers = block_a[: W - s] + block_b[: W - s] + prompt[2 * W + 5: 3 * W + 6]
        arrays = {"a": np.array([digits_of(a)], np.int8), "b": np.array([digits_of(b)], np.int8),
                  "fillers": letter(fillers)}
    table = group_table(task, cfg, fmt, Group(str(s), s, s), Instances(arrays, np.zeros((1, 1), np.int64)))
    return table["prompt"][0].as_py(), table["completion"][0].as_py()


# -- the tests ----------------------------------------------------------------------------------

def test_doc_has_examples_for_the_main_formats():
    covered = {(b["task"], b["fmt"]) for b in BLOCKS}
    for needed in [("parity", "plain"), ("parity", "scratchpad"), ("parity", "inductive"),
                   ("addition", "inductive"), ("addition", "shift"), ("cycles", "inductive"),
                   ("implications", "inductive"), ("implications", "scratchpad")]:
        assert needed in covered, f"docs/formats.md has no example of {needed}"
    assert all(b["hand"] != ("config" in b) for b in BLOCKS), "a block is either a real row or a hand example"


@pytest.mark.parametrize("block", BLOCKS, ids=block_id)
def test_example_block(block):
    task = get_task(block["task"])
    completion, answer = block["completion"], block["answer"]
    assert task.parse_answer(block["fmt"], completion) == answer
    expected_completion, expected_answer = reference(block)
    assert answer == expected_answer, "the stated answer is not the one the prompt asks for"
    # the completion is one space, then the tokens the doc's rules give
    assert completion == " " + expected_completion, "the completion does not follow the rules the doc states"
    if block["hand"]:
        assert hand_rows(block) == (block["prompt"], completion), "the generator builds this instance differently"
    else:
        shapes = generated_skeletons(block["task"], block["config"], block["split"])
        whole = block["task"] != "implications"
        assert (skeleton(block["prompt"]), skeleton(completion) if whole else None) in shapes, \
            "no freshly generated row of this config and split has this layout"


def test_no_reference_to_material_outside_the_repo():
    forbidden = ("../" + "shared", "TASKS" + ".md")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    hits = []
    for name in filter(None, files):
        path = ROOT / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if any(f in line for f in forbidden):
                hits.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not hits, "files refer to material outside the repository (use docs/formats.md):\n" + "\n".join(hits)

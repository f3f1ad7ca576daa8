"""Pre-flight tokenizer checks (issue 13): before training or evaluating, every marker and
vocabulary symbol of a config must survive ``decode(encode(symbol))``; if one does not, one
line names it and nothing is trained, evaluated or written.

The tokenizers are the four kinds people fine-tune with, trained here (tests/tokenizer_kinds.py)
on built text of parity, addition and cycles plus English; the broken ones are trained on the
same text without ``#``.
"""

from __future__ import annotations

import pytest
from accelerate.state import AcceleratorState, GradientState

from hf_reasoning import build_dataset
from hf_reasoning.errors import HFReasoningError
from hf_reasoning.tasks import TASKS, get_task
from hf_reasoning.tokenization import build_tokenizer, check_tokenizer, config_symbols, symbols_lost
from tokenizer_kinds import KINDS, pretrained_folder, trained_tokenizer

CONFIGS = [("parity", "laptop-inductive"), ("addition", "cpu_space-inductive"), ("addition", "cpu_shift-shift"),
           ("cycles", "n3-inductive")]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    out = []
    for task, config in CONFIGS:
        ds = build_dataset(task, config, scale="tiny")
        out += list(ds["train"].select(range(16)))
    return out


@pytest.fixture(autouse=True)
def _fresh_accelerator():
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def test_the_projects_word_level_tokenizers_write_every_symbol():
    for task in TASKS.values():
        assert symbols_lost(build_tokenizer(task.vocab.tokens), task.vocab.tokens) == {}, task.name


@pytest.mark.parametrize("kind", KINDS)
def test_each_tokenizer_kind_trained_on_the_text_passes(kind, rows):
    tokenizer = trained_tokenizer(kind, rows)
    for task in ("parity", "addition", "cycles"):
        symbols = get_task(task).vocab.tokens
        check_tokenizer(tokenizer, symbols, task)  # no error
        # independently: every symbol written after a space comes back, spaces aside, and no id is unknown
        for symbol in ("#", ":", ".", "_", "$"):
            ids = tokenizer(" " + symbol, add_special_tokens=False).input_ids
            assert ids and tokenizer.unk_token_id not in ids
            assert "".join(tokenizer.decode(ids).split()) == symbol


@pytest.mark.parametrize("kind", KINDS)
def test_a_tokenizer_without_hash_is_named_in_one_line(kind, rows):
    tokenizer = trained_tokenizer(kind, rows, without="#")
    # the tokenizer really lost '#': an unknown id, or (byte-level BPE without its byte alphabet) no id at all
    ids = tokenizer(" #", add_special_tokens=False).input_ids
    assert tokenizer.unk_token_id in ids or "#" not in tokenizer.decode(ids)
    with pytest.raises(HFReasoningError) as error:
        check_tokenizer(tokenizer, get_task("parity").vocab.tokens, "parity laptop-inductive")
    message = str(error.value)
    assert "\n" not in message and "'#'" in message and "parity laptop-inductive" in message
    # only the lost symbol is named: '.', ':' and the digits survive
    assert list(symbols_lost(tokenizer, get_task("parity").vocab.tokens)) == ["#"]


def test_symbols_of_a_dataset_without_a_task_are_its_words():
    rows = [{"prompt": "1 0 =", "completion": ": 1 # 1 ."}, {"prompt": "0 0 =", "completion": ": 0 # 0 ."}]
    assert sorted(config_symbols(None, [rows])) == sorted(["1", "0", "=", ":", "#", "."])
    assert config_symbols(get_task("parity")) == get_task("parity").vocab.tokens


@pytest.fixture(scope="module")
def parity_repo(tmp_path_factory):
    from hf_reasoning import write_repo

    folder = tmp_path_factory.mktemp("data") / "parity"
    write_repo("parity", folder, scale="tiny", seed=0, configs=["laptop-inductive"])
    return folder


@pytest.mark.parametrize("kind", ["wordpiece", "byte_level_bpe"])
def test_training_with_a_tokenizer_without_hash_stops_before_any_write(kind, rows, parity_repo, tmp_path):
    from hf_reasoning.train import main

    model = pretrained_folder(tmp_path / "model", trained_tokenizer(kind, rows, without="#"))
    out = tmp_path / "run"
    with pytest.raises(HFReasoningError) as error:
        main(["--dataset", str(parity_repo), "--config", "laptop-inductive", "--model", str(model), "--out", str(out),
              "--max_steps", "2", "--per_device_train_batch_size", "4", "--eval_every", "1000"])
    assert "'#'" in str(error.value) and "\n" not in str(error.value)
    assert not out.exists()  # no run folder, no checkpoint, no generation_config with eos = unknown


def test_evaluating_with_a_tokenizer_without_hash_stops_before_generating(rows, parity_repo, tmp_path):
    from hf_reasoning.evaluation import evaluate_run

    model = pretrained_folder(tmp_path / "model", trained_tokenizer("unigram", rows, without="#"))
    with pytest.raises(HFReasoningError, match="'#'"):
        evaluate_run(model, parity_repo, "laptop-inductive", splits=["validation"], out_dir=tmp_path / "eval", max_rows=2)
    assert not (tmp_path / "eval" / "eval_results.json").exists()

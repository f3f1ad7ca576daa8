"""The training text of a row is ``prompt + completion`` (issue 13, generator 0.6.0).

* Every completion the generator writes, in every config of every task (and in the fresh-sample
  stream), is one space and then its tokens joined by single spaces; the prompt has no
  surrounding whitespace; the task's answer rule reads the row's answer from it. (Each task's
  own tests recompute the completions from the structured instance.)
* The project's trainer feeds a model the same token ids for rows of generator ≥ 0.6.0 (leading
  space) as the join of generator ≤ 0.5.0 did: the prompt's ids, then the ids of ``" " +
  completion`` on the completion without its space (written out here, not taken from the code),
  with loss on the completion only; the inductive collator gives identical batches for both kinds
  of row; the decoding budgets count the same tokens. Checked with the project's word-level
  tokenizer and the four kinds of tests/tokenizer_kinds.py (WordPiece, BPE, byte-level BPE,
  Unigram) on several tasks and formats.
* TRL's ``SFTTrainer``, given the rows exactly as ``datasets.load_dataset(folder, config)``
  returns them, tokenizes ``prompt + completion`` (+ its EOS) to the project's ids, and its
  completion mask (the ``labels`` it builds) covers exactly the completion's tokens and the EOS.
"""

from __future__ import annotations

import pytest
import torch

from hf_reasoning import build_config, build_dataset
from hf_reasoning.inductive import IGNORE_INDEX, CausalCollator, InductiveCollator, collator_for
from hf_reasoning.tasks import TASKS, get_task
from hf_reasoning.tokenization import build_tokenizer, completion_lengths, training_text
from tokenizer_kinds import KINDS, trained_tokenizer


# -- (c) the completions the generator writes ---------------------------------------------------


def every_config():
    return [(task.name, config) for task in TASKS.values() for config in task.config_names()]


def check_completion_text(task, fmt: str, row: dict) -> None:
    prompt, completion = row["prompt"], row["completion"]
    assert completion[:1] == " " and completion[1:2] not in (" ", ""), repr(completion)  # exactly one space
    tokens = completion[1:].split(" ")
    assert all(tokens) and tokens == completion.split(), repr(completion)  # then tokens, single spaces
    assert tokens[-1] == "." and "." not in tokens[:-1]
    assert prompt == " ".join(prompt.split()) and prompt, repr(prompt)  # no whitespace around the prompt
    assert training_text(prompt, completion) == prompt + completion
    # the answer rule applies to the tokens: with or without the space, the row's answer
    assert task.parse_answer(fmt, completion) == task.parse_answer(fmt, completion[1:]) == str(row["answer"])


@pytest.mark.parametrize("task_name,config", every_config())
def test_every_completion_is_one_space_then_its_tokens(task_name, config):
    task = get_task(task_name)
    fmt = config.rpartition("-")[2]
    build = build_config(task_name, config, "tiny", 0)
    for table in build.tables.values():
        for row in table.select(["prompt", "completion", "answer"]).to_pylist():
            check_completion_text(task, fmt, row)


def test_fresh_samples_have_the_same_completion_text():
    from hf_reasoning.splits import fresh_tables

    task = get_task("addition")
    table = next(fresh_tables("addition", "abbe2024_shift-shift", "tiny", 0, chunk_size=32))
    for row in table.select(["prompt", "completion", "answer"]).to_pylist():
        check_completion_text(task, "shift", row)


# -- (a) the same token ids as the join of generator <= 0.5.0 -----------------------------------

CONFIGS = [("parity", "laptop16-plain"), ("parity", "laptop16-scratchpad"), ("parity", "laptop16-inductive"),
           ("addition", "cpu_hints-reversed_index_hints"), ("addition", "abbe2024-scratchpad"),
           ("addition", "abbe2024-inductive"), ("addition", "abbe2024_shift-shift"), ("cycles", "n5-scratchpad"),
           ("cycles", "n5-inductive"), ("sort", "zhou2023-inductive"), ("boolean", "gotu_sign3-plain")]
ROWS_PER_CONFIG = 8


@pytest.fixture(scope="module")
def rows_by_config():
    """Training rows of each config: ``(new, old)``, the rows as built now and as generator
    <= 0.5.0 wrote them (the same completion without its leading space)."""
    out = {}
    for task, config in CONFIGS:
        new = list(build_dataset(task, config, scale="tiny")["train"].select(range(ROWS_PER_CONFIG)))
        assert all(r["completion"].startswith(" ") for r in new)
        old = [{**r, "completion": r["completion"][1:]} for r in new]
        out[(task, config)] = new, old
    return out


@pytest.fixture(scope="module")
def tokenizers(rows_by_config):
    """``{(kind, task): tokenizer}``: the word-level tokenizer of each task and the four kinds,
    trained on the old rows' texts of every config (plus English)."""
    rows = [r for _, old in rows_by_config.values() for r in old]
    out = {}
    for task in {t for t, _ in CONFIGS}:
        out[("word_level", task)] = build_tokenizer(get_task(task).vocab.tokens)
    for kind in KINDS:
        tokenizer = trained_tokenizer(kind, rows)
        for task in {t for t, _ in CONFIGS}:
            out[(kind, task)] = tokenizer
    return out


def old_join_ids(tokenizer, row: dict) -> tuple[list[int], list[int]]:
    """The ids and labels of the join of generator <= 0.5.0 (``hf_reasoning.inductive.CausalCollator``
    before issue 13): the prompt's ids, then those of ``" " + completion``; loss on the completion."""
    prompt = tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
    completion = tokenizer(" " + row["completion"], add_special_tokens=False)["input_ids"]
    return prompt + completion, [IGNORE_INDEX] * len(prompt) + completion


def unpadded(batch: dict, i: int) -> tuple[list[int], list[int]]:
    n = int(batch["attention_mask"][i].sum())
    return batch["input_ids"][i, :n].tolist(), batch["labels"][i, :n].tolist()


@pytest.mark.parametrize("kind", ["word_level", *KINDS])
@pytest.mark.parametrize("task,config", CONFIGS)
def test_the_trainer_feeds_the_ids_of_the_old_join(kind, task, config, rows_by_config, tokenizers):
    new, old = rows_by_config[(task, config)]
    tokenizer = tokenizers[(kind, task)]
    fmt = config.rpartition("-")[2]
    collate = collator_for(fmt, tokenizer)
    from_new, from_old = collate(new), collate(old)
    assert from_new.keys() == from_old.keys()
    for key in from_new:  # the whole batch: ids, labels, masks, positions
        assert torch.equal(from_new[key], from_old[key]), key
    if isinstance(collate, CausalCollator):
        for i, row in enumerate(old):
            assert unpadded(from_new, i) == old_join_ids(tokenizer, row)
    else:
        assert isinstance(collate, InductiveCollator)
        if kind == "word_level":  # one id per word: the tokens with loss are the old completion's, in order
            for i, row in enumerate(old):
                targets = from_new["labels"][i][from_new["labels"][i] != IGNORE_INDEX].tolist()
                assert targets == old_join_ids(tokenizer, row)[0][-len(row["completion"].split()):]
    # the decoding budgets (hf_reasoning.evaluation, hf_reasoning.train) count the old join's tokens
    assert completion_lengths(tokenizer, [r["completion"] for r in new]) == \
        [len(tokenizer(" " + r["completion"], add_special_tokens=False)["input_ids"]) for r in old]
    # and the text is the old join's
    assert [training_text(r["prompt"], r["completion"]) for r in new] == [r["prompt"] + " " + r["completion"] for r in old]


# -- (b) TRL's SFTTrainer on the rows as load_dataset returns them --------------------------------

SFT_CONFIGS = ["laptop16-plain", "laptop16-scratchpad", "laptop16-inductive"]


@pytest.fixture(scope="module")
def parity_folder(tmp_path_factory):
    from hf_reasoning import write_repo

    folder = tmp_path_factory.mktemp("sft") / "parity"
    write_repo("parity", folder, scale="tiny", seed=0, configs=SFT_CONFIGS)
    return folder


@pytest.mark.usefixtures("fresh_accelerator")
@pytest.mark.parametrize("kind", ["word_level", *KINDS])
def test_sft_trainer_on_the_loaded_rows_trains_on_the_projects_text(kind, parity_folder, tmp_path):
    pytest.importorskip("trl")
    import datasets
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from hf_reasoning.modeling import preset_config

    loaded = {config: datasets.load_dataset(str(parity_folder), config, split="train").select(range(8))
              for config in SFT_CONFIGS}
    rows = [r for ds in loaded.values() for r in ds]
    tokenizer = (build_tokenizer(get_task("parity").vocab.tokens) if kind == "word_level"
                 else trained_tokenizer(kind, rows))
    eos = tokenizer.eos_token_id
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(preset_config("tiny", tokenizer))
    for config, ds in loaded.items():
        args = SFTConfig(str(tmp_path / config), max_steps=1, per_device_train_batch_size=4, report_to=[],
                         use_cpu=True, save_strategy="no", disable_tqdm=True)
        trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tokenizer)
        causal = CausalCollator(tokenizer)(list(ds))  # the project's ids (plain formats' trainer)
        for i, (row, tokenized) in enumerate(zip(ds, trainer.train_dataset)):
            text_ids = tokenizer(training_text(row["prompt"], row["completion"]), add_special_tokens=False)["input_ids"]
            assert tokenized["input_ids"] == text_ids + [eos]  # SFTTrainer appends its EOS
            ids, _ = unpadded(causal, i)
            assert tokenized["input_ids"] == ids + [eos]
            # the completion mask: loss on exactly the completion's tokens (the column as loaded,
            # tokenized alone) and the EOS, none on the prompt's
            prompt_ids = tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
            completion_ids = tokenizer(row["completion"], add_special_tokens=False)["input_ids"]
            assert tokenized["input_ids"] == prompt_ids + completion_ids + [eos]
            assert tokenized["labels"] == [IGNORE_INDEX] * len(prompt_ids) + completion_ids + [eos]

"""Fine-tuning with transformers.Trainer, TRL's SFTTrainer and PEFT (issue 13; extras ``.[trl]``,
``.[peft]``).

* SFTTrainer on the rows as built (each completion starts with one space, generator ≥ 0.6.0)
  sees exactly the token ids the project's trainer builds (``CausalCollator``), plus the EOS it
  appends, for the project's word-level tokenizer and the four kinds trained in
  tests/tokenizer_kinds.py; rows of generator ≤ 0.5.0 (completion without its leading space) do
  not, unless passed through :func:`hf_reasoning.finetune.sft_dataset`, which leaves new rows as
  they are.
* 20-step runs: SFTTrainer out of the box, SFTTrainer and Trainer with the project's collator
  (inductive masking included) on the ``tiny`` preset.
* A LoRA run of ``hf-reasoning train`` saves a PEFT adapter, which reloads (merged) to the
  trained model and evaluates.
"""

from __future__ import annotations

import json

import pytest
import torch

from hf_reasoning import build_dataset
from hf_reasoning.inductive import CausalCollator, InductiveCollator
from hf_reasoning.modeling import preset_config
from hf_reasoning.tasks import get_task
from hf_reasoning.tokenization import build_tokenizer
from tokenizer_kinds import KINDS, pretrained_folder, trained_tokenizer


pytestmark = pytest.mark.usefixtures("fresh_accelerator")


@pytest.fixture(scope="module")
def parity():
    return {config: build_dataset("parity", config, scale="tiny") for config in
            ("laptop-plain", "laptop-scratchpad", "laptop-inductive")}


def tiny_model(tokenizer, seed: int = 0):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(preset_config("tiny", tokenizer))


def sft_config(tmp_path, **kwargs):
    from trl import SFTConfig

    return SFTConfig(str(tmp_path / "sft"), max_steps=20, per_device_train_batch_size=8, learning_rate=3e-3,
                     logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0, disable_tqdm=True,
                     **kwargs)


def losses(trainer) -> list[float]:
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def project_ids(tokenizer, rows):
    """What hf_reasoning.train feeds the model for plain/scratchpad rows: ids and labels per row."""
    batch = CausalCollator(tokenizer)(rows)
    n = batch["attention_mask"].sum(-1)
    return [(batch["input_ids"][i, :n[i]].tolist(), batch["labels"][i, :n[i]].tolist()) for i in range(len(rows))]


@pytest.mark.parametrize("kind", ["word_level", *KINDS])
def test_sft_trainer_sees_the_projects_token_ids(kind, parity, tmp_path):
    pytest.importorskip("trl")
    from trl import SFTTrainer

    from hf_reasoning.finetune import sft_dataset

    rows = [r for ds in (parity["laptop-plain"], parity["laptop-scratchpad"]) for r in ds["train"].select(range(12))]
    tokenizer = (build_tokenizer(get_task("parity").vocab.tokens) if kind == "word_level"
                 else trained_tokenizer(kind, rows))
    import datasets

    raw = datasets.Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    assert sft_dataset(raw)["completion"] == raw["completion"]  # idempotent on rows of generator >= 0.6.0
    trainer = SFTTrainer(model=tiny_model(tokenizer), args=sft_config(tmp_path), train_dataset=raw,
                         processing_class=tokenizer)
    eos = tokenizer.eos_token_id
    for row, (ids, labels) in zip(trainer.train_dataset, project_ids(tokenizer, rows)):
        assert row["input_ids"] == ids + [eos]  # the project's ids, then SFTTrainer's EOS
        assert row["labels"] == labels + [eos]  # loss on the completion (and EOS) only
    # independently of the collator: the ids spell prompt, one space, completion
    first = trainer.train_dataset[0]["input_ids"][:-1]
    assert " ".join(tokenizer.decode(first).split()) == " ".join(f"{rows[0]['prompt']} {rows[0]['completion']}".split()) \
        or kind == "wordpiece"  # (WordPiece's clean-up writes "1 ." as "1.")
    # rows of generator <= 0.5.0 (no leading space): the project's trainer reads them alike ...
    old = datasets.Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"].lstrip()} for r in rows])
    assert project_ids(tokenizer, list(old)) == project_ids(tokenizer, rows)
    # ... SFTTrainer glues '=' and the answer together, unless sft_dataset gives them their space
    if kind in ("word_level", "byte_level_bpe"):
        glued = SFTTrainer(model=tiny_model(tokenizer), args=sft_config(tmp_path), train_dataset=old,
                           processing_class=tokenizer).train_dataset
        assert any(row["input_ids"][:-1] != ids for row, (ids, _) in zip(glued, project_ids(tokenizer, rows)))
    assert sft_dataset(old)["completion"] == raw["completion"]


def test_sft_trainer_20_steps_out_of_the_box(parity, tmp_path):
    pytest.importorskip("trl")
    from trl import SFTTrainer

    tokenizer = build_tokenizer(get_task("parity").vocab.tokens)
    trainer = SFTTrainer(model=tiny_model(tokenizer), args=sft_config(tmp_path),
                         train_dataset=parity["laptop-scratchpad"]["train"], processing_class=tokenizer)
    trainer.train()
    assert trainer.state.global_step == 20
    loss = losses(trainer)
    assert all(map(torch.isfinite, torch.tensor(loss))) and sum(loss[-5:]) < sum(loss[:5])


class Recording:
    """A data collator that remembers the rows it was given (and gives them to ``collate``)."""

    def __init__(self, collate):
        self.collate, self.rows = collate, []

    def __call__(self, rows):
        self.rows.extend(rows)
        return self.collate(rows)


@pytest.mark.parametrize("trainer_kind", ["Trainer", "SFTTrainer"])
def test_20_steps_with_the_projects_inductive_collator(trainer_kind, parity, tmp_path):
    from hf_reasoning.finetune import data_collator, sft_config_kwargs

    tokenizer = build_tokenizer(get_task("parity").vocab.tokens)
    model = tiny_model(tokenizer)
    collate = data_collator("laptop-inductive", tokenizer, model)
    assert isinstance(collate, InductiveCollator) and collate.bos_token_id is None  # as hf-reasoning train for a preset
    recording = Recording(collate)
    train = parity["laptop-inductive"]["train"]
    if trainer_kind == "Trainer":
        from transformers import Trainer, TrainingArguments

        args = TrainingArguments(str(tmp_path / "trainer"), max_steps=20, per_device_train_batch_size=8,
                                 learning_rate=3e-3, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
                                 seed=0, disable_tqdm=True, remove_unused_columns=False)
        trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=recording)
    else:
        pytest.importorskip("trl")
        from trl import SFTTrainer

        trainer = SFTTrainer(model=model, args=sft_config(tmp_path, **sft_config_kwargs()), train_dataset=train,
                             data_collator=recording, processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["attention_mask"].dim() == 4 and "position_ids" in batch  # the inductive inputs reach the model
    trainer.train()
    assert trainer.state.global_step == 20
    # the collator got the dataset's own rows: text untouched (no EOS appended, not tokenized)
    by_prompt = {r["prompt"]: r["completion"] for r in train}
    assert len(recording.rows) >= 20 * 8
    assert all(by_prompt[r["prompt"]] == r["completion"] and r["completion"].endswith(" .") for r in recording.rows)
    loss = losses(trainer)
    assert all(map(torch.isfinite, torch.tensor(loss))) and sum(loss[-5:]) < sum(loss[:5])


# -- PEFT -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parity_repo(tmp_path_factory):
    from hf_reasoning import write_repo

    folder = tmp_path_factory.mktemp("data") / "parity"
    write_repo("parity", folder, scale="tiny", seed=0, configs=["laptop-inductive"])
    return folder


def test_lora_run_saves_a_peft_adapter_that_reloads_and_evaluates(parity_repo, tmp_path):
    pytest.importorskip("peft")
    import datasets
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_reasoning.cli import main as cli_main
    from hf_reasoning.evaluation import evaluate_run
    from hf_reasoning.finetune import load_run
    from hf_reasoning.generation import complete
    from hf_reasoning.train import main

    base_dir = pretrained_folder(tmp_path / "base", build_tokenizer(get_task("parity").vocab.tokens))
    run = tmp_path / "run"
    result = main(["--dataset", str(parity_repo), "--config", "laptop-inductive", "--model", str(base_dir),
                   "--out", str(run), "--lora_r", "4", "--lora_target_modules", "q_proj,v_proj", "--max_steps", "20",
                   "--per_device_train_batch_size", "8", "--learning_rate", "3e-3", "--eval_every", "1000",
                   "--eval_splits", "validation", "--eval_max_examples", "4"])
    files = {p.name for p in run.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "config.json", "generation_config.json"} <= files
    assert "model.safetensors" not in files  # the base is not copied: the adapter points at it
    adapter_config = json.loads((run / "adapter_config.json").read_text())
    assert adapter_config["peft_type"] == "LORA" and adapter_config["r"] == 4 and adapter_config["lora_alpha"] == 8
    assert adapter_config["base_model_name_or_path"] == str(base_dir.resolve())
    assert sorted(adapter_config["target_modules"]) == ["q_proj", "v_proj"]
    adapter = load_file(run / "adapter_model.safetensors")
    assert adapter and all("lora_" in k and ("q_proj" in k or "v_proj" in k) for k in adapter)
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in adapter.items())  # trained (PEFT starts B at 0)
    # the end token of the saved generation config is '.', never the unknown token
    eos = json.loads((run / "generation_config.json").read_text())["eos_token_id"]
    tokenizer = AutoTokenizer.from_pretrained(str(run))
    assert eos == tokenizer.convert_tokens_to_ids(".") != tokenizer.unk_token_id

    # reloaded: the merged model computes what the trained one did; the base alone does not
    model, tokenizer = load_run(run)
    base = AutoModelForCausalLM.from_pretrained(str(base_dir))
    ids = torch.tensor([tokenizer("_ 0 1 _ 1 _ 1 1 0 _ 0 0 = : [ 0 1 ]", add_special_tokens=False).input_ids])
    trained = result.model.eval()
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, trained(ids).logits, atol=1e-4)
        assert not torch.allclose(base(ids).logits, trained(ids).logits, atol=1e-3)
    prompts = [r["prompt"] for r in datasets.load_dataset(str(parity_repo), "laptop-inductive", split="validation")][:3]
    assert len(complete(model, tokenizer, prompts, "inductive", max_new_tokens=40)) == 3

    out = evaluate_run(run, parity_repo, "laptop-inductive", splits=["validation"], max_rows=8)
    assert out["results"]["answer_accuracy"]["n"] == 8
    # the CLI accepts the adapter folder as --model (its model checks included)
    cli_main(["evaluate", "--model", str(run), "--dataset", str(parity_repo), "--config", "laptop-inductive",
              "--split", "validation", "--max-rows", "4", "--out", str(tmp_path / "eval")])
    assert json.loads((tmp_path / "eval" / "eval_results.json").read_text())["results"]["answer_accuracy"]["n"] == 4

    # its model card: PEFT metadata, the adapter's loading snippet, no local path of the base model
    from huggingface_hub import ModelCard

    from hf_reasoning.cards import write_model_card

    card = ModelCard.load(write_model_card(run, out))
    assert card.data.library_name == "peft" and card.data.base_model is None  # the base is a local folder
    assert "load_run(" in card.content and "AutoModelForCausalLM.from_pretrained" not in card.content
    assert str(base_dir) not in card.content and str(tmp_path) not in card.content


def test_lora_options_are_checked_before_anything_is_loaded(parity_repo, tmp_path):
    from hf_reasoning.errors import HFReasoningError
    from hf_reasoning.train import parse_args

    common = ["--dataset", str(parity_repo), "--config", "laptop-inductive", "--out", str(tmp_path / "run")]
    with pytest.raises(HFReasoningError, match="fresh preset 'tiny'"):
        parse_args([*common, "--model", "tiny", "--lora_r", "4"])
    with pytest.raises(HFReasoningError, match="--lora_r 0"):
        parse_args([*common, "--model", str(tmp_path), "--lora_r", "0"])
    with pytest.raises(HFReasoningError, match="need --lora_r"):
        parse_args([*common, "--model", str(tmp_path), "--lora_alpha", "4"])
    assert not (tmp_path / "run").exists()

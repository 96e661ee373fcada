"""A plain Hugging Face Trainer script: the baseline the workbench is measured against.

This is what a practitioner writes by hand: AutoModelForSequenceClassification (the [CLS] pooler
head), the Trainer's defaults, fixed-length padding-free tokenization with DataCollatorWithPadding.
It takes the same data, seed and budget as a workbench run.

    python bench/plain_trainer.py --method full --lr 1e-4 --batch-size 32
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from datasets import load_dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

from workbench.catalog import bundled_model_path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/datasets/sst2")
    parser.add_argument("--method", choices=["full", "lora"], default="full")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train-samples", type=int, default=4000)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-targets", default="query,value")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-seed", type=int, help="seed of the row sample (default: --seed)")
    parser.add_argument("--output", default="/tmp/plain_trainer")
    args = parser.parse_args(argv)

    data = load_dataset(
        "csv",
        data_files={"train": f"{args.data}/train.tsv", "validation": f"{args.data}/dev.tsv"},
        delimiter="\t",
    )
    # The same seeded sample as a workbench run with data.max_train_samples.
    data_seed = args.seed if args.data_seed is None else args.data_seed
    train = data["train"].shuffle(seed=data_seed).select(range(args.max_train_samples))
    path = bundled_model_path("minilm-l6")
    tokenizer = AutoTokenizer.from_pretrained(path)

    def tokenize(batch):
        return tokenizer(batch["sentence"], truncation=True, max_length=128)

    train = train.map(tokenize, batched=True)
    dev = data["validation"].map(tokenize, batched=True)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    if args.method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(
            model,
            LoraConfig(task_type=TaskType.SEQ_CLS, r=args.lora_r, lora_alpha=2 * args.lora_r,
                       target_modules=args.lora_targets.split(","), lora_dropout=0.1),
        )

    def accuracy(pred):
        return {"accuracy": float((np.argmax(pred.predictions, -1) == pred.label_ids).mean())}

    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=args.output,
            learning_rate=args.lr,
            per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=64,
            num_train_epochs=args.epochs,
            seed=args.seed,
            save_strategy="no",
            report_to=[],
            logging_steps=10,
            use_cpu=True,
        ),
        train_dataset=train,
        eval_dataset=dev,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=accuracy,
    )
    start = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - start
    result = {
        "method": args.method,
        "lr": args.lr,
        "accuracy": trainer.evaluate()["eval_accuracy"],
        "train_seconds": seconds,
        "train_samples_per_second": out.metrics["train_samples_per_second"],
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

# Two local folders with the same name and the same README.md, different Parquet rows.
import os, tempfile
os.environ["HF_HOME"] = tempfile.mkdtemp()  # a fresh cache
import datasets, pyarrow as pa, pyarrow.parquet as pq

CARD = """---
configs:
- config_name: main
  data_files:
  - split: train
    path: main/train-*.parquet
---
"""
root = tempfile.mkdtemp()
for name, value in (("a", "rows of a"), ("b", "rows of b")):
    folder = os.path.join(root, name, "parity")
    os.makedirs(os.path.join(folder, "main"))
    pq.write_table(pa.table({"text": [value]}), os.path.join(folder, "main", "train-00000-of-00001.parquet"))
    open(os.path.join(folder, "README.md"), "w").write(CARD)
print("datasets", datasets.__version__)
for name in ("a", "b"):
    ds = datasets.load_dataset(os.path.join(root, name, "parity"), "main", split="train")
    print(name, "->", ds[0]["text"], "| cache:", os.path.relpath(ds.cache_files[0]["filename"], os.environ["HF_HOME"]))

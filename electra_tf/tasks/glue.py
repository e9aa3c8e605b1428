"""The GLUE tasks, with the column conventions of the files written by the usual `download_glue_data.py`.

| task | labelled columns (train, dev) | test columns | labels | metrics (main first) |
|---|---|---|---|---|
| CoLA | no header; source, label, original label, sentence | index, sentence | 0, 1 | mcc |
| SST-2 | sentence, label | index, sentence | 0, 1 | accuracy |
| MRPC | Quality, #1 ID, #2 ID, #1 String, #2 String (BOM) | index, ... | 0, 1 | accuracy, f1 |
| STS-B | 10 columns; sentence1 = 7, sentence2 = 8, score = 9 | 9 columns | float 0-5 | spearman, pearson |
| QQP | id, qid1, qid2, question1, question2, is_duplicate | id, question1, question2 | 0, 1 | accuracy, f1 |
| MNLI | 12 (train) or 16 (dev) columns; sentence1 = 8, sentence2 = 9, gold_label last | 10 columns | contradiction, entailment, neutral | accuracy |
| QNLI | index, question, sentence, label | index, question, sentence | entailment, not_entailment | accuracy |
| RTE | index, sentence1, sentence2, label | index, sentence1, sentence2 | entailment, not_entailment | accuracy |
| WNLI | index, sentence1, sentence2, label | index, sentence1, sentence2 | 0, 1 | accuracy |

The main metrics are the ELECTRA paper's GLUE dev metrics: Matthews correlation for CoLA, Spearman for STS-B,
accuracy for the rest. MNLI's dev has two files; `dev` is matched, `dev_mismatched` the other. MRPC and STS-B are
`unordered`: a pair's label does not depend on the order of its sentences (google-research/electra trains them on
both orders). STS-B's scores (0 to 5) are learned divided by 5, as google-research/electra does (`target_scale`).
"""

from electra_tf.tasks.task import CLASSIFICATION, REGRESSION, Columns, Task

_NLI = ("entailment", "not_entailment")
# GLUE's header names of the columns read (`Columns.header_names`), by role.
_PAIR = dict(text_a="sentence1", text_b="sentence2", index="index")
_MRPC = dict(text_a="#1 String", text_b="#2 String")
_QQP = dict(text_a="question1", text_b="question2", index="id")
_QNLI = dict(text_a="question", text_b="sentence", index="index")
_MNLI = _PAIR | dict(label="gold_label")

GLUE_TASKS = (
    Task(
        name="cola",
        directory="CoLA",
        kind=CLASSIFICATION,
        labels=("0", "1"),
        metrics=("mcc", "accuracy"),
        labelled=Columns(text_a=3, label=1, num_columns=4, header=False),
        unlabelled=Columns(text_a=1, index=0, num_columns=2, header_names=dict(text_a="sentence", index="index")),
        tfds_name="glue/cola",
    ),
    Task(
        name="sst-2",
        directory="SST-2",
        kind=CLASSIFICATION,
        labels=("0", "1"),
        metrics=("accuracy",),
        labelled=Columns(text_a=0, label=1, num_columns=2, header_names=dict(text_a="sentence", label="label")),
        unlabelled=Columns(text_a=1, index=0, num_columns=2, header_names=dict(text_a="sentence", index="index")),
        tfds_name="glue/sst2",
    ),
    Task(
        name="mrpc",
        directory="MRPC",
        kind=CLASSIFICATION,
        labels=("0", "1"),
        metrics=("accuracy", "f1"),
        labelled=Columns(text_a=3, text_b=4, label=0, num_columns=5, header_names=_MRPC | dict(label="Quality")),
        unlabelled=Columns(text_a=3, text_b=4, index=0, num_columns=5, header_names=_MRPC | dict(index="index")),
        tfds_name="glue/mrpc",
        unordered=True,
    ),
    Task(
        name="sts-b",
        directory="STS-B",
        kind=REGRESSION,
        metrics=("spearman", "pearson"),
        labelled=Columns(
            text_a=7, text_b=8, label=9, index=0, num_columns=10, header_names=_PAIR | dict(label="score")
        ),
        unlabelled=Columns(text_a=7, text_b=8, index=0, num_columns=9, header_names=_PAIR),
        tfds_name="glue/stsb",
        unordered=True,
        target_scale=5.0,
    ),
    Task(
        name="qqp",
        directory="QQP",
        kind=CLASSIFICATION,
        labels=("0", "1"),
        metrics=("accuracy", "f1"),
        labelled=Columns(
            text_a=3, text_b=4, label=5, index=0, num_columns=6, header_names=_QQP | dict(label="is_duplicate")
        ),
        unlabelled=Columns(text_a=1, text_b=2, index=0, num_columns=3, header_names=_QQP),
        tfds_name="glue/qqp",
    ),
    Task(
        name="mnli",
        directory="MNLI",
        kind=CLASSIFICATION,
        labels=("contradiction", "entailment", "neutral"),
        metrics=("accuracy",),
        files={
            "train": "train.tsv",
            "dev": "dev_matched.tsv",
            "dev_mismatched": "dev_mismatched.tsv",
            "test": "test_matched.tsv",
            "test_mismatched": "test_mismatched.tsv",
        },
        labelled=Columns(text_a=8, text_b=9, label=11, index=0, num_columns=12, header_names=_MNLI),
        unlabelled=Columns(text_a=8, text_b=9, index=0, num_columns=10, header_names=_PAIR),
        split_columns={
            "dev": Columns(text_a=8, text_b=9, label=15, index=0, num_columns=16, header_names=_MNLI),
            "dev_mismatched": Columns(text_a=8, text_b=9, label=15, index=0, num_columns=16, header_names=_MNLI),
        },
        submission_names={"test": "MNLI-m", "test_mismatched": "MNLI-mm"},
        tfds_name="glue/mnli",
    ),
    Task(
        name="qnli",
        directory="QNLI",
        kind=CLASSIFICATION,
        labels=_NLI,
        metrics=("accuracy",),
        labelled=Columns(text_a=1, text_b=2, label=3, index=0, num_columns=4, header_names=_QNLI | dict(label="label")),
        unlabelled=Columns(text_a=1, text_b=2, index=0, num_columns=3, header_names=_QNLI),
        tfds_name="glue/qnli",
    ),
    Task(
        name="rte",
        directory="RTE",
        kind=CLASSIFICATION,
        labels=_NLI,
        metrics=("accuracy",),
        labelled=Columns(text_a=1, text_b=2, label=3, index=0, num_columns=4, header_names=_PAIR | dict(label="label")),
        unlabelled=Columns(text_a=1, text_b=2, index=0, num_columns=3, header_names=_PAIR),
        tfds_name="glue/rte",
    ),
    Task(
        name="wnli",
        directory="WNLI",
        kind=CLASSIFICATION,
        labels=("0", "1"),
        metrics=("accuracy",),
        labelled=Columns(text_a=1, text_b=2, label=3, index=0, num_columns=4, header_names=_PAIR | dict(label="label")),
        unlabelled=Columns(text_a=1, text_b=2, index=0, num_columns=3, header_names=_PAIR),
        tfds_name="glue/wnli",
    ),
)

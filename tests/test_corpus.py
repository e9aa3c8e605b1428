"""Shard planning and decoding of real corpus text."""

import pytest

from electra_tf import corpus


def test_plan_covers_every_byte_once_and_cuts_at_document_starts(corpus_10mb):
    plan = corpus.plan_shards([corpus_10mb], 16)
    pieces = [p for shard in plan for p in shard]
    assert 8 <= len(plan) <= 16, "books (~320 KB) are never split, so nearby cuts can coincide"
    assert pieces[0].start == 0
    for before, after in zip(pieces, pieces[1:]):
        assert after.start == before.end
    with open(corpus_10mb, "rb") as f:
        raw = f.read()
    assert pieces[-1].end == len(raw)
    for piece in pieces[1:]:
        assert raw[piece.start - 2 : piece.start] == b"\n\n", "a shard must start a document"


def test_plan_spans_several_files_and_keeps_file_ends(tmp_path):
    files = []
    for i in range(3):
        path = tmp_path / f"part{i}.txt"
        path.write_text("".join(f"doc {i} line {j}\n" + ("\n" if j % 5 == 4 else "") for j in range(200)))
        files.append(str(path))
    plan = corpus.plan_shards(files, 4)
    covered = {}
    for shard in plan:
        for piece in shard:
            covered.setdefault(piece.path, []).append((piece.start, piece.end))
    for path in files:
        spans = sorted(covered[path])
        assert spans[0][0] == 0 and spans[-1][1] == (tmp_path / path).stat().st_size
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_strict_decoding_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("first line\nsecond line\nthird caf\xe9 line\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt, line 3: invalid UTF-8"):
        corpus.read_shard(corpus.plan_shards([str(path)], 1)[0], "strict")


def test_replace_decoding_counts_only_invalid_sequences(tmp_path):
    path = tmp_path / "mixed.txt"
    # One genuine U+FFFD in the text plus two invalid bytes: only the two are counted.
    path.write_bytes("ok \ufffd ok\n".encode("utf-8") + b"bad \xff and \xfe\n")
    lines, errors = corpus.read_shard(corpus.plan_shards([str(path)], 1)[0], "replace")
    assert errors == 2
    assert lines[1] == "bad \ufffd and \ufffd"


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="on_decode_error"):
        corpus.check_decode_policy("ignore")
